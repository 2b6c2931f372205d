/**
 * The embedded issuer's OAuth2 endpoints (RFC 6749 client_credentials grant, with
 * client_secret_basic and client_secret_post), OpenID discovery and the JWKS.
 *
 * Tokens carry only what Rotor decides: issuer, audience (--audience), subject and client_id
 * (the client), the secret id, times and a token id. A `scope` the caller asks for is ignored
 * (RFC 6749 §3.3 lets the server ignore it): no client is granted any scope, so a token never
 * carries one, and resource servers that check scopes refuse these tokens rather than trust a
 * scope the caller chose.
 */

import type { IncomingMessage } from "node:http";
import { Counter, type Registry } from "prom-client";
import { type HttpServer, json, readBody } from "../../runtime/http.ts";
import type { Logger } from "../../runtime/log.ts";
import { FailureLimiter, type FailureLimits, sourceAddress } from "./ratelimit.ts";
import { matchSecret } from "./record.ts";
import type { ClientRegistry } from "./registry.ts";
import type { TokenSigner } from "./signing.ts";

export const TOKEN_PATH = "/oauth2/token";
export const JWKS_PATH = "/oauth2/jwks";
export const DISCOVERY_PATH = "/.well-known/openid-configuration";

export interface TokenEndpointOptions {
  /** The issuer URL as clients reach it, e.g. http://rotor.rotor-system.svc:8080 */
  issuerUrl: string;
  /** The `aud` of every token; see `audienceProblem` for what is accepted. */
  audience: string;
  tokenLifetimeSeconds: number;
  registry: ClientRegistry;
  key: TokenSigner;
  log: Logger;
  limits?: Partial<FailureLimits>;
  /** Where `rotor_issuer_token_requests_total` (by outcome) is registered. */
  metrics?: Registry;
  now?: () => Date;
}

interface Credentials {
  clientId: string;
  clientSecret: string;
  method: "client_secret_basic" | "client_secret_post";
}

/**
 * Why a value cannot be a token audience, or undefined when it can: one non-empty string of
 * printable characters without spaces (a URI or a name), at most 256 characters.
 */
export function audienceProblem(audience: string): string | undefined {
  if (audience === "") return "must not be empty";
  if (audience.length > 256) return "must be at most 256 characters";
  if (!/^[\x21-\x7e]+$/.test(audience)) return "must be printable ASCII without spaces";
  return undefined;
}

export function mountTokenEndpoint(server: HttpServer, options: TokenEndpointOptions): void {
  const requests = options.metrics
    ? new Counter({
        name: "rotor_issuer_token_requests_total",
        help: "Requests to the embedded token endpoint, by outcome.",
        labelNames: ["outcome"],
        registers: [options.metrics],
      })
    : undefined;
  const count = (outcome: "issued" | "invalid_client" | "invalid_request" | "rate_limited" | "starting") =>
    requests?.inc({ outcome });
  const audienceError = audienceProblem(options.audience);
  if (audienceError) throw new Error(`--audience ${audienceError}: ${JSON.stringify(options.audience)}`);
  const limiter = new FailureLimiter(options.limits);
  const now = options.now ?? (() => new Date());
  const base = options.issuerUrl.replace(/\/$/, "");

  server.route(DISCOVERY_PATH, (_req, res) =>
    json(res, 200, {
      issuer: base,
      token_endpoint: `${base}${TOKEN_PATH}`,
      jwks_uri: `${base}${JWKS_PATH}`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      response_types_supported: ["token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
    }),
  );
  server.route(JWKS_PATH, (_req, res) => json(res, 200, { keys: options.key.jwks() }));

  server.route(TOKEN_PATH, async (req, res) => {
    const reply = (
      status: number,
      error: string,
      description: string,
      headers: Record<string, string> = {},
    ) => {
      json(res, status, { error, error_description: description }, headers);
    };
    if (req.method !== "POST") {
      reply(405, "invalid_request", "use POST", { allow: "POST" });
      return;
    }
    if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      reply(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get("grant_type");
    if (!grant) {
      count("invalid_request");
      reply(400, "invalid_request", "grant_type is required");
      return;
    }
    if (grant !== "client_credentials") {
      count("invalid_request");
      reply(400, "unsupported_grant_type", "only the client_credentials grant is supported");
      return;
    }
    const credentials = readCredentials(req, form);
    if ("error" in credentials) {
      count("invalid_request");
      reply(credentials.status, credentials.error, credentials.description, credentials.headers);
      return;
    }
    if (!options.registry.synced) {
      // Before its first LIST the registry knows no client: a 401 would tell a workload its
      // secret is bad. (Readiness keeps a Service from routing here meanwhile.)
      count("starting");
      reply(503, "temporarily_unavailable", "the token endpoint is starting; retry", { "retry-after": "1" });
      return;
    }
    const record = options.registry.cached(credentials.clientId);
    const address = sourceAddress(req.socket.remoteAddress);
    // Failures are counted for clients that exist only: random ids cannot fill the limiter.
    const admission = record ? limiter.admit(record.clientId, address) : { refused: false as const };
    if (admission.refused) {
      count("rate_limited");
      reply(
        429,
        "temporarily_unavailable",
        "too many failed authentications for this client from this address",
        {
          "retry-after": String(admission.retryAfterSeconds),
        },
      );
      return;
    }
    const at = now();
    const secret = record ? matchSecret(record, credentials.clientSecret, at) : undefined;
    if (!record || !secret) {
      if (record) {
        const tipped = limiter.fail(record.clientId, address);
        if (tipped === "client")
          options.log.warn(
            { clientId: record.clientId },
            "many failed authentications for this client: addresses that failed wait for the window to end; others are still checked",
          );
        else if (tipped === "address")
          options.log.info(
            { clientId: record.clientId, address },
            "too many failed authentications from one address: it waits for the window to end",
          );
      }
      count("invalid_client");
      // The same answer for an unknown client, a wrong, revoked or expired secret.
      reply(401, "invalid_client", "client authentication failed", {
        "www-authenticate": `Basic realm="rotor", error="invalid_client"`,
      });
      return;
    }
    limiter.succeed(record.clientId, address);
    const secondsLeft = Math.floor((Date.parse(secret.expiration) - at.getTime()) / 1000);
    const lifetime = Math.max(1, Math.min(options.tokenLifetimeSeconds, secondsLeft));
    const token = await options.key.sign(
      { client_id: record.clientId, "rotor.dev/secret-id": secret.id },
      lifetime,
      base,
      options.audience,
      record.clientId,
    );
    count("issued");
    json(res, 200, { access_token: token, token_type: "Bearer", expires_in: lifetime });
  });
}

type CredentialError = {
  error: string;
  description: string;
  status: number;
  headers?: Record<string, string>;
};

function readCredentials(req: IncomingMessage, form: URLSearchParams): Credentials | CredentialError {
  const header = req.headers.authorization;
  const postId = form.get("client_id");
  const postSecret = form.get("client_secret");
  if (header?.startsWith("Basic ")) {
    if (postSecret) {
      return {
        error: "invalid_request",
        description: "use one client authentication method, not two",
        status: 400,
      };
    }
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0)
      return { error: "invalid_client", description: "malformed Basic credentials", status: 401 };
    // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    try {
      return {
        clientId: formDecode(decoded.slice(0, colon)),
        clientSecret: formDecode(decoded.slice(colon + 1)),
        method: "client_secret_basic",
      };
    } catch {
      return { error: "invalid_client", description: "malformed Basic credentials", status: 401 };
    }
  }
  if (postId && postSecret)
    return { clientId: postId, clientSecret: postSecret, method: "client_secret_post" };
  return {
    error: "invalid_client",
    description: "client authentication is required (client_secret_basic or client_secret_post)",
    status: 401,
    headers: { "www-authenticate": `Basic realm="rotor"` },
  };
}

const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
