/**
 * A real Ory Hydra v2.3.0 (hack/tools/hydra, built by hack/tools/build.sh) as its own process on
 * 127.0.0.1, for the tests of the OAuth2 client-registration issuer: free ports, clients in a
 * sqlite file in a temp dir (kept over `restart`) or in memory, dynamic registration on, its log
 * kept in a buffer. The helpers in hydra-api.ts speak to it (token, introspect, admin listing).
 *
 * What Hydra v2.3.0 does, as seen against this build (test/integration/hydra.test.ts proves the
 * parts the issuer relies on):
 * - Discovery `GET <issuer>/.well-known/openid-configuration` lists `token_endpoint`
 *   (`<issuer>/oauth2/token`) but lists `registration_endpoint` only when
 *   `webfinger.oidc_discovery.client_registration_url` is configured (set here); registration is
 *   `POST <public>/oauth2/register` and answers 404 "Dynamic registration is not enabled." unless
 *   `oidc.dynamic_client_registration.enabled`.
 * - RFC 7591: no initial access token: registration is open to anyone who reaches the public port
 *   (an `Authorization` header is ignored). Body: `client_name`, `grant_types`
 *   (["client_credentials"]), `token_endpoint_auth_method` (default `client_secret_basic`; also
 *   `client_secret_post`), `scope` (space-separated; default "offline_access offline openid"),
 *   `audience` (array of strings). Refused with 400: `client_secret` or `access_token_strategy`
 *   set, `metadata` set (`invalid_client_metadata`: the ownership marker cannot go there; `owner`
 *   is accepted and filterable), `audience` not an array. Not checked: unknown grant types, auth
 *   methods or scope characters are stored as sent. A `client_id` in the body is ignored.
 * - 201 answer: `client_id` (UUID), `client_secret` (26 chars of [A-Za-z0-9_.~-]),
 *   `client_secret_expires_at: 0`, `registration_access_token` (`ory_at_…`),
 *   `registration_client_uri` (`<public>/oauth2/register/<id>`), the metadata as stored,
 *   `created_at`; no `client_id_issued_at`. Its `Location` header is the admin path
 *   `/admin/clients/<id>`, not the registration URI.
 * - RFC 7592 at `registration_client_uri` with `Authorization: Bearer <registration_access_token>`:
 *   GET 200 (no secret, no token; the token does not rotate); PUT replaces the whole client
 *   (omitted fields fall back to defaults: send everything), keeps the secret, answers 200 with
 *   a NEW `registration_access_token` (the old one answers 401 from then on) and without
 *   `registration_client_uri`; DELETE 204 with no body. A wrong or missing token, an unknown or
 *   already deleted client all answer 401 `{"error":"The request could not be authorized",
 *   "error_description":"The requested OAuth 2.0 client does not exist or you provided incorrect
 *   credentials."}`: a second DELETE is 401, not 404 (admin `GET /admin/clients/<id>` says 404).
 * - Errors: `{"error","error_description"}`, but `error` is an RFC code only for the OAuth
 *   validations (`invalid_client_metadata`, `invalid_redirect_uri`); the others carry a sentence
 *   ("The request was malformed or contained invalid parameters").
 * - Token endpoint (`client_credentials`): 200 `{access_token: "ory_at_…", expires_in: 3599,
 *   scope, token_type: "bearer"}`; the Basic credentials are form-urlencoded (RFC 6749 2.3.1).
 *   Wrong secret, unknown or deleted client: 401 `invalid_client`; the other auth method than the
 *   registered one: 401 `invalid_client` naming both methods; a scope not registered: 400
 *   `invalid_scope`; an audience not registered: 400 `invalid_request`.
 * - Deleting a client makes its access tokens inactive at once (admin introspection
 *   `POST /admin/oauth2/introspect` answers `{"active":false}`; the token rows go with the
 *   client), with sqlite file or memory. With `strategies.access_token: jwt` the tokens would be
 *   self-contained and keep working at resource servers until they expire.
 * - Admin listing `GET /admin/clients?client_name=<exact>` (also `owner=`): exact match, ordered
 *   by client id, never shows secrets or registration tokens. Paging: `page_size` (default 250,
 *   at most 1000) and an opaque `page_token`, taken from `Link` (rel next/prev/first/last, paths
 *   relative to the admin URL). `Link` and `X-Total-Count` count ALL clients, not the filtered
 *   ones: a filtered listing stops at a page shorter than `page_size`, never at a missing `next`.
 * - The log redacts `Authorization` headers and query strings; SIGTERM stops it in about 2 s.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../hack/controlplane/controlplane.ts";
import { sleep } from "../../src/runtime/backoff.ts";
import { tool } from "./tools.ts";

export * from "./hydra-api.ts";

export interface HydraOptions {
  /** `sqlite` (default): a file in the Hydra's temp dir, kept over restarts; `memory` forgets. */
  storage?: "sqlite" | "memory";
  /** More of Hydra's configuration as environment, e.g. `{ TTL_ACCESS_TOKEN: "10s" }`. */
  env?: Record<string, string>;
}

export interface Hydra {
  /** The public listener: token endpoint, registration, discovery. */
  readonly publicUrl: string;
  /** The admin listener: client listing, introspection. */
  readonly adminUrl: string;
  /** What discovery names as `issuer` (the public URL, no trailing slash). */
  readonly issuerUrl: string;
  /** `<public>/oauth2/register`, also discovery's `registration_endpoint`. */
  readonly registrationUrl: string;
  readonly alive: boolean;
  /** Stops it (SIGTERM, or `signal`), waits `downMs`, starts it again on the same ports. */
  restart(options?: { downMs?: number; signal?: NodeJS.Signals }): Promise<void>;
  /** Sends a signal to its process group and waits for it to exit; `restart` brings it back. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it for good and removes its temp dir. */
  stop(): Promise<void>;
  /** Everything it logged, over all its lives. */
  output(): string;
}

/** The Hydras of this test process: stopped on exit if a test forgot to. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) signalGroup(child, "SIGKILL");
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

export async function startHydra(options: HydraOptions = {}): Promise<Hydra> {
  const binary = tool("hydra");
  const dir = mkdtempSync(join(tmpdir(), "rotor-hydra-"));
  const dsn = options.storage === "memory" ? "memory" : `sqlite://${join(dir, "hydra.sqlite")}?_fk=true`;
  // Kept over restarts: Hydra encrypts its signing keys with it.
  const systemSecret = randomBytes(24).toString("base64url");
  let output = "";
  let child: ChildProcess | undefined;
  let publicPort = 0;
  let adminPort = 0;
  const env = () => ({
    PATH: process.env.PATH ?? "",
    HOME: dir,
    DSN: dsn,
    SECRETS_SYSTEM: systemSecret,
    SERVE_PUBLIC_HOST: "127.0.0.1",
    SERVE_PUBLIC_PORT: String(publicPort),
    SERVE_ADMIN_HOST: "127.0.0.1",
    SERVE_ADMIN_PORT: String(adminPort),
    URLS_SELF_ISSUER: `http://127.0.0.1:${publicPort}`,
    OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED: "true",
    WEBFINGER_OIDC_DISCOVERY_CLIENT_REGISTRATION_URL: `http://127.0.0.1:${publicPort}/oauth2/register`,
    ...options.env,
  });

  if (options.storage !== "memory") {
    // A sqlite file needs Hydra's schema first; `memory` migrates at every start by itself.
    const migrated = await promisify(execFile)(binary, ["migrate", "sql", "up", "-e", "--yes"], {
      env: env(),
    }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`hydra migrate failed: ${error.stderr ?? error.message}`);
    });
    output += migrated.stdout + migrated.stderr;
  }

  /** Starts Hydra and waits until both listeners are ready; false when it exited at start. */
  const launch = async (): Promise<boolean> => {
    const started = spawn(binary, ["serve", "all", "--dev", "--sqa-opt-out"], {
      env: env(),
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child = started;
    running.add(started);
    started.once("exit", () => running.delete(started));
    for (const stream of [started.stdout, started.stderr])
      stream?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) return false;
      if ((await ready(`http://127.0.0.1:${publicPort}`)) && (await ready(`http://127.0.0.1:${adminPort}`)))
        return true;
      if (Date.now() > deadline) {
        signalGroup(started, "SIGKILL");
        throw new Error(`Hydra was not ready within 60s:\n${output.slice(-3000)}`);
      }
      await sleep(100);
    }
  };

  // Another process may take a free port before Hydra binds it: try again on other ports.
  for (let attempt = 1; ; attempt++) {
    [publicPort, adminPort] = await Promise.all([freePort(), freePort()]);
    if (await launch()) break;
    if (attempt === 3) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Hydra exited at start:\n${output.slice(-3000)}`);
    }
  }

  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (!child) return;
    const c = child;
    signalGroup(c, signal);
    const timer = setTimeout(() => signalGroup(c, "SIGKILL"), 15_000);
    await exited(c);
    clearTimeout(timer);
  };
  const publicUrl = `http://127.0.0.1:${publicPort}`;
  return {
    publicUrl,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    issuerUrl: publicUrl,
    registrationUrl: `${publicUrl}/oauth2/register`,
    get alive() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill,
    async restart({ downMs = 0, signal = "SIGTERM" } = {}) {
      await kill(signal);
      await sleep(downMs);
      // The issuer URL must not change, so no other ports this time.
      if (!(await launch())) throw new Error(`Hydra exited at restart:\n${output.slice(-3000)}`);
    },
    async stop() {
      await kill("SIGTERM");
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => output,
  };
}
