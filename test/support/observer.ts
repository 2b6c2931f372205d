/**
 * What a fault test watches while it hurts the cluster: each ClientCredential's target Secret
 * (the secret ids it went through, its current value), the embedded issuer's registry (the most
 * secrets a client held), and a prober that asks the token endpoints for a token with each
 * current value, as a workload would. It polls rather than watches, so that the API server's
 * restarts the test causes cannot blind it; during an outage it simply sees nothing new.
 */
import { CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { decodeRecord } from "../../src/issuers/embedded/record.ts";
import { sleep } from "../../src/runtime/backoff.ts";
import { kubeConfig } from "./cluster.ts";
import { decoded, requestToken } from "./credentials.ts";
import { OPERATOR_NAMESPACE } from "./rotor.ts";

export interface Current {
  clientId: string;
  value: string;
  secretId: string;
  /** When the poll first saw this secret in the target (epoch ms). */
  since: number;
}

export interface Refusal {
  at: number;
  name: string;
  url: string;
  secretId: string;
  /** The HTTP status, or the error when nothing answered. */
  answer: string;
}

export class Observer {
  /** Target name → the secret ids it held, in order. */
  readonly ids = new Map<string, string[]>();
  /** Target name → when the poll first saw each of those ids (epoch ms), in the same order. */
  private readonly seen = new Map<string, number[]>();
  readonly current = new Map<string, Current>();
  /** The most secrets any client of the namespace held at the issuer, at any poll. */
  maxSecrets = 0;
  /** Secret ids ever stored at the issuer, per client. */
  readonly minted = new Map<string, Set<string>>();
  /** Each stored secret's expiry (epoch ms), by `clientId/secretId`. */
  private readonly expiries = new Map<string, number>();
  /** Targets seen holding a secret past its expiry: it expired before it was replaced. */
  readonly expiredWhileCurrent = new Set<string>();
  /** Token requests: granted; refused (an HTTP answer other than 200); unanswered (no connection). */
  readonly tokens = { ok: 0, refused: [] as Refusal[], unanswered: [] as Refusal[] };
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly core = kubeConfig().makeApiClient(CoreV1Api);
  private readonly namespace: string;

  constructor(namespace: string) {
    this.namespace = namespace;
  }

  /** Polls the targets and the registry every `everyMs`. */
  watch(everyMs = 500): this {
    this.loops.push(this.loop(everyMs, () => this.poll()));
    return this;
  }

  /**
   * Once a second asks every URL `urls()` gives for a token with the current value of each of
   * `names`; a refusal (or no answer) of a value the target holds is recorded.
   */
  probe(names: string[], urls: () => string[], everyMs = 1000): this {
    this.loops.push(
      this.loop(everyMs, async () => {
        const checks = names.flatMap((name) => urls().map((url) => ({ name, url })));
        await Promise.all(checks.map(({ name, url }) => this.ask(name, url)));
      }),
    );
    return this;
  }

  /**
   * Every renewal of a ClientCredential renewing `renewBeforeMs` ahead of expiry: when it was due
   * (its predecessor's expiry − renewBefore) and how late the target switched (ms; the poll adds
   * up to its interval). Rotate requests show as early renewals (negative lateness).
   */
  renewals(renewBeforeMs: number): Array<{ name: string; due: number; lateMs: number }> {
    const renewals = [];
    for (const [name, ids] of this.ids) {
      const seen = this.seen.get(name) ?? [];
      const clientId = this.current.get(name)?.clientId;
      for (let i = 1; i < ids.length; i++) {
        const expiry = this.expiries.get(`${clientId}/${ids[i - 1]}`);
        if (expiry === undefined) continue;
        const due = expiry - renewBeforeMs;
        renewals.push({ name, due, lateMs: (seen[i] ?? 0) - due });
      }
    }
    return renewals;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async ask(name: string, url: string): Promise<void> {
    const current = this.current.get(name);
    if (!current) return;
    let status = 0;
    const answer = await requestToken(`${url}/oauth2/token`, current.clientId, current.value).then(
      (response) => {
        status = response.status;
        return `${response.status} ${response.body.error ?? ""}`;
      },
      (error: unknown) => String((error as Error).cause ?? error),
    );
    const refusal = { at: Date.now(), name, url, secretId: current.secretId, answer };
    if (status === 200) this.tokens.ok++;
    else if (status) this.tokens.refused.push(refusal);
    else this.tokens.unanswered.push(refusal);
  }

  private async loop(everyMs: number, step: () => Promise<void>): Promise<void> {
    while (this.running) {
      await step().catch(() => undefined); // the API server is down: nothing new to see
      await sleep(everyMs);
    }
  }

  private async poll(): Promise<void> {
    const [targets, registry] = await Promise.all([
      this.core.listNamespacedSecret({ namespace: this.namespace, labelSelector: "rotor.dev/role=target" }),
      this.core.listNamespacedSecret({
        namespace: OPERATOR_NAMESPACE,
        labelSelector: "rotor.dev/embedded-client",
      }),
    ]);
    const clients = new Set<string>();
    for (const secret of targets.items) this.sawTarget(secret, clients);
    for (const secret of registry.items) {
      const record = decodeRecord(secret);
      if (!record || !clients.has(record.clientId)) continue;
      this.maxSecrets = Math.max(this.maxSecrets, record.secrets.length);
      const minted = this.minted.get(record.clientId) ?? new Set();
      for (const s of record.secrets) {
        minted.add(s.id);
        this.expiries.set(`${record.clientId}/${s.id}`, Date.parse(s.expiration));
      }
      this.minted.set(record.clientId, minted);
    }
    for (const [name, { clientId, secretId }] of this.current) {
      const expiry = this.expiries.get(`${clientId}/${secretId}`);
      if (expiry !== undefined && Date.now() > expiry) this.expiredWhileCurrent.add(`${name} ${secretId}`);
    }
  }

  private sawTarget(secret: V1Secret, clients: Set<string>): void {
    const name = secret.metadata?.name as string;
    const secretId = secret.metadata?.annotations?.["rotor.dev/secret-id"];
    const clientId = decoded(secret, "client_id");
    const value = decoded(secret, "client_secret");
    if (!secretId || !clientId || !value) return;
    clients.add(clientId);
    const ids = this.ids.get(name) ?? [];
    if (ids.at(-1) !== secretId) {
      ids.push(secretId);
      this.seen.set(name, [...(this.seen.get(name) ?? []), Date.now()]);
      this.current.set(name, { clientId, value, secretId, since: Date.now() });
    }
    this.ids.set(name, ids);
  }
}
