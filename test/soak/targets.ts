/**
 * What consumers see: the target Secrets, followed on one watch. Each change of the
 * `rotor.dev/secret-id` annotation is a rotation. Its time is the API server's time of Rotor's
 * write (the `rotor` field manager's entry in managedFields, 1 s resolution), so a change seen
 * late (a watch down during an API server restart) is still timed right. A rotation is due at
 * the old secret's renewalTime, which Rotor computes (and shows in status.renewalTime) as
 * `notAfter − renewBefore`; the target's `rotor.dev/not-after` annotation holds that notAfter.
 * A secret that expired while still in the target Secret is counted, once a fresh read confirms
 * it (the watch may lag).
 */
import { ANN_NOT_AFTER, SECRET_ID } from "../../src/api/metadata.ts";
import type { BenchClient, KubeObject } from "../bench/scale/kube.ts";
import type { Watcher } from "../bench/scale/watch.ts";
import { LATE_MS, RENEW_BEFORE_MS } from "./options.ts";

/** What a workload reads from the target Secret. Held in memory only, never printed. */
export interface Held {
  secretId: string;
  clientId: string;
  secret: string;
  ca: string | undefined;
  /** When the soak first saw it (its own clock). */
  seenAt: number;
}

interface Target {
  namespace: string;
  secretId: string;
  notAfter: number;
  current: Held;
  previous: Held | undefined;
}

export interface Rotation {
  credential: string;
  from: string;
  to: string;
  /** Seconds from renewalTime to the target Secret holding the new secret. */
  delaySeconds: number;
  /** When the target switched (ms since the epoch). */
  at: number;
}

type SecretObject = KubeObject & {
  data?: Record<string, string>;
  metadata: KubeObject["metadata"] & { managedFields?: Array<{ manager?: string; time?: string }> };
};

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

export class Targets {
  readonly rotations: Rotation[] = [];
  readonly late: Rotation[] = [];
  /** `credential secret-id: why`, one per secret that outlived its expiry in the target. */
  readonly expired: string[] = [];
  /** When each superseded secret left its target: `clientId/secretId` → ms since the epoch. */
  readonly supersededAt = new Map<string, number>();
  private readonly targets = new Map<string, Target>();
  private readonly flagged = new Set<string>();
  private readonly client: BenchClient;

  constructor(client: BenchClient, watcher: Watcher) {
    this.client = client;
    watcher.on((object, type) => {
      if (type !== "DELETED") this.seen(object as SecretObject);
    });
    for (const object of watcher.objects.values()) this.seen(object as SecretObject);
  }

  get count(): number {
    return this.targets.size;
  }

  /** The secret a workload started now would hold: the newest one in the target for `settleMs`. */
  held(credential: string, settleMs: number): Held | undefined {
    const target = this.targets.get(credential);
    if (!target) return undefined;
    const fresh = Date.now() - target.current.seenAt < settleMs;
    return fresh && target.previous ? target.previous : target.current;
  }

  /** Targets whose current secret's expiry has passed by a second: confirmed by a fresh read. */
  async checkExpiry(): Promise<void> {
    const now = Date.now();
    for (const [name, target] of this.targets) {
      const key = `${name} ${target.secretId}`;
      if (now < target.notAfter + 1000 || this.flagged.has(key)) continue;
      let fresh: SecretObject;
      try {
        fresh = await this.client.get<SecretObject>(`/api/v1/namespaces/${target.namespace}/secrets/${name}`);
      } catch {
        return; // The API server is away: the next check asks again.
      }
      this.seen(fresh);
      if (fresh.metadata.annotations?.[SECRET_ID] === target.secretId && Date.now() >= target.notAfter) {
        this.flagged.add(key);
        this.expired.push(
          `${name} secret ${target.secretId}: expired at ${new Date(target.notAfter).toISOString()}, still current at ${new Date().toISOString()}`,
        );
      }
    }
  }

  private seen(object: SecretObject): void {
    const name = object.metadata.name;
    const annotations = object.metadata.annotations ?? {};
    const secretId = annotations[SECRET_ID];
    const notAfter = Date.parse(annotations[ANN_NOT_AFTER] ?? "");
    const clientId = decode(object.data?.client_id);
    const secret = decode(object.data?.client_secret);
    if (!secretId || Number.isNaN(notAfter) || !clientId || !secret) return;
    const target = this.targets.get(name);
    if (target?.secretId === secretId) return;
    const held: Held = {
      secretId,
      clientId,
      secret,
      ca: decode(object.data?.["ca.crt"]),
      seenAt: Date.now(),
    };
    const next = {
      namespace: object.metadata.namespace ?? "",
      secretId,
      notAfter,
      current: held,
      previous: target?.current,
    };
    this.targets.set(name, next);
    if (target) this.rotated(name, target, next, writtenAt(object));
  }

  private rotated(name: string, old: Target, next: Target, at: number): void {
    const rotation: Rotation = {
      credential: name,
      from: old.secretId,
      to: next.secretId,
      delaySeconds: (at - (old.notAfter - RENEW_BEFORE_MS)) / 1000,
      at,
    };
    this.rotations.push(rotation);
    this.supersededAt.set(`${old.current.clientId}/${old.secretId}`, at);
    if (rotation.delaySeconds * 1000 > LATE_MS) this.late.push(rotation);
    const key = `${name} ${old.secretId}`;
    // Expired means notAfter ≤ now (the endpoint accepts a secret only while it is later).
    if (at >= old.notAfter && !this.flagged.has(key)) {
      this.flagged.add(key);
      this.expired.push(
        `${name} secret ${old.secretId}: expired at ${new Date(old.notAfter).toISOString()}, replaced at ${new Date(at).toISOString()}`,
      );
    }
  }
}

/** The API server's time of Rotor's last write of the Secret; now when it has none. */
function writtenAt(object: SecretObject): number {
  const time = object.metadata.managedFields?.find((f) => f.manager === "rotor" && f.time)?.time;
  const at = time ? Date.parse(time) : Number.NaN;
  return Number.isNaN(at) ? Date.now() : Math.min(at, Date.now());
}
