/** Test doubles for leader election: a hand-moved monotonic clock and a Lease kept in memory. */
import type { V1LeaseSpec } from "@kubernetes/client-node";
import type { LeaseStore, StoredLease } from "../../../src/runtime/lease-store.ts";

/** One monotonic clock for every replica of a test, moved by hand. */
export class Clock {
  now = 1_000_000;
  readonly monotonic = () => this.now;
  advance(ms: number) {
    this.now += ms;
  }
}

/**
 * A Lease with compare-and-swap on a version, as the API server keeps it. `latencyMs` moves the
 * clock while a request is "on the wire": half before the server applies it, half after.
 */
export class MemoryLease implements LeaseStore {
  spec: V1LeaseSpec | undefined;
  version = 0;
  latencyMs = 0;
  failing = false;
  /** Requests received, by kind: what a leader or follower costs the API server. */
  readonly calls = { read: 0, create: 0, replace: 0 };
  readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Another writer changed the lease (its version moves, as on the API server). */
  overwrite(spec: V1LeaseSpec) {
    this.spec = spec;
    this.version++;
  }

  private async wire<T>(apply: () => T): Promise<T> {
    this.clock.advance(this.latencyMs / 2);
    if (this.failing) throw new Error("connection refused");
    const result = apply();
    this.clock.advance(this.latencyMs / 2);
    return result;
  }

  private stored(): StoredLease | undefined {
    return this.spec ? { spec: { ...this.spec }, resourceVersion: String(this.version) } : undefined;
  }

  read() {
    this.calls.read++;
    return this.wire(() => this.stored());
  }
  create(spec: V1LeaseSpec) {
    this.calls.create++;
    return this.wire(() => {
      if (this.spec) return undefined;
      this.overwrite(spec);
      return this.stored();
    });
  }
  replace(spec: V1LeaseSpec, resourceVersion: string) {
    this.calls.replace++;
    return this.wire(() => {
      if (resourceVersion !== String(this.version)) return undefined;
      this.overwrite(spec);
      return this.stored();
    });
  }
}
