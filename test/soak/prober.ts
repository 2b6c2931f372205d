/**
 * Token availability as a workload sees it: once a second, for a few credentials, a token
 * request with the secret a workload holds (the target Secret's, once it has been there for
 * 2 s: a restarted pod reads it seconds after the switch, never in the same millisecond), to one
 * of the replicas that serve (round robin, as a Service spreads requests over Ready endpoints;
 * a replica the soak is killing is taken out first). The CA is the target Secret's ca.crt, as a
 * workload would use it. A refused request (any answer but 200, or none within 5 s, or no
 * replica serving) counts against Rotor when the secret was valid (a request in flight when the
 * soak killed its replica is counted apart): a fresh read of the issuer's
 * registry, a few seconds later, still holds it unexpired at the time of the request (a secret
 * is never un-revoked, so one still there was there then).
 */
import { Agent, request } from "undici";
import { matchSecret } from "../../src/issuers/embedded/record.ts";
import { TOKEN_PATH } from "../../src/issuers/embedded/server.ts";
import { sleep } from "../../src/runtime/backoff.ts";
import type { BenchClient } from "../bench/scale/kube.ts";
import { validAt } from "./issuer.ts";
import type { Replica } from "./replicas.ts";
import type { Held, Targets } from "./targets.ts";

const HELD_AFTER_MS = 2000;
const TIMEOUT_MS = 5000;
const CHECK_AFTER_MS = 3000;
/** How long a refusal's validity is asked for while the API server is away. */
const CHECK_FOR_MS = 180_000;

export interface Refusal {
  atMs: number;
  replica: string;
  credential: string;
  /** HTTP status and OAuth error, or why nothing answered. */
  outcome: string;
  /** The secret was valid at the issuer when it was refused: counts against Rotor. */
  valid: boolean | "unknown";
}

export class Prober {
  requests = 0;
  ok = 0;
  /** In flight to a replica when the soak killed it: lost as with any pod killed, not refused. */
  cutByKill = 0;
  readonly refusals: Refusal[] = [];
  private readonly agents = new Map<string, Agent>();
  private readonly checks = new Set<Promise<void>>();
  private next = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  private readonly client: BenchClient;
  private readonly targets: Targets;
  private readonly replicas: Replica[];
  private readonly credentials: string[];
  private readonly runStart: number;

  constructor(
    client: BenchClient,
    targets: Targets,
    replicas: Replica[],
    credentials: string[],
    runStart: number,
  ) {
    this.client = client;
    this.targets = targets;
    this.replicas = replicas;
    this.credentials = credentials;
    this.runStart = runStart;
  }

  get refusedValid(): number {
    return this.refusals.filter((r) => r.valid === true).length;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const tick = Date.now();
        await Promise.all(this.credentials.map((name) => this.probe(name)));
        await sleep(Math.max(0, 1000 - (Date.now() - tick)));
      }
    })();
  }

  /** Stops asking, and waits for the refusals' checks. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all(this.checks);
    for (const agent of this.agents.values()) await agent.close();
  }

  private async probe(credential: string): Promise<void> {
    const held = this.targets.held(credential, HELD_AFTER_MS);
    if (!held) return;
    const serving = this.replicas.filter((r) => r.serving);
    const replica = serving[this.next++ % Math.max(1, serving.length)];
    const at = Date.now();
    this.requests++;
    let outcome: string;
    if (!replica) outcome = "no replica serving";
    else {
      const kills = replica.kills;
      outcome = await this.ask(`${replica.rotor.url}${TOKEN_PATH}`, held);
      if (outcome === "200") {
        this.ok++;
        return;
      }
      if (replica.kills !== kills && outcome.startsWith("no answer")) {
        this.cutByKill++;
        return;
      }
    }
    const refusal: Refusal = {
      atMs: at - this.runStart,
      replica: replica?.identity ?? "-",
      credential,
      outcome,
      valid: "unknown",
    };
    this.refusals.push(refusal);
    const check = this.check(refusal, held, at).finally(() => this.checks.delete(check));
    this.checks.add(check);
  }

  /** "200", or the status and OAuth error code, or why there was no answer. */
  private async ask(url: string, held: Held): Promise<string> {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: held.clientId,
      client_secret: held.secret,
    }).toString();
    try {
      const response = await request(url, {
        method: "POST",
        dispatcher: this.agent(held.ca),
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await response.body.text();
      if (response.statusCode === 200) return "200";
      let error = "";
      try {
        error = String((JSON.parse(text) as { error?: string }).error ?? "");
      } catch {
        // not JSON
      }
      return `HTTP ${response.statusCode}${error ? ` ${error}` : ""}`;
    } catch (error) {
      return `no answer: ${(error as { code?: string }).code ?? (error as Error).name}`;
    }
  }

  private agent(ca: string | undefined): Agent {
    const key = ca ?? "";
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({ connect: ca ? { ca } : {}, keepAliveTimeout: 10_000 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  private async check(refusal: Refusal, held: Held, at: number): Promise<void> {
    await sleep(CHECK_AFTER_MS);
    const deadline = Date.now() + CHECK_FOR_MS;
    while (Date.now() < deadline) {
      try {
        refusal.valid = await validAt(
          this.client,
          held.clientId,
          (record, when) => matchSecret(record, held.secret, when) !== undefined,
          at,
        );
        return;
      } catch {
        await sleep(2000);
      }
    }
  }
}
