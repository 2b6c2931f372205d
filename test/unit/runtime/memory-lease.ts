/** Test doubles for leader election: a hand-moved monotonic clock and a Lease kept in memory. */
import type { V1LeaseSpec } from "@kubernetes/client-node";
import type { LeaseStore } from "../../../src/runtime/leader.ts";

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
  readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  private async wire<T>(apply: () => T): Promise<T> {
    this.clock.advance(this.latencyMs / 2);
    if (this.failing) throw new Error("connection refused");
    const result = apply();
    this.clock.advance(this.latencyMs / 2);
    return result;
  }

  read() {
    return this.wire(() =>
      this.spec ? { spec: { ...this.spec }, resourceVersion: String(this.version) } : undefined,
    );
  }
  create(spec: V1LeaseSpec) {
    return this.wire(() => {
      if (this.spec) return false;
      this.spec = spec;
      this.version++;
      return true;
    });
  }
  replace(spec: V1LeaseSpec, resourceVersion: string) {
    return this.wire(() => {
      if (resourceVersion !== String(this.version)) return false;
      this.spec = spec;
      this.version++;
      return true;
    });
  }
}
