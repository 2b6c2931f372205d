/**
 * A keyed work queue with controller-runtime's semantics:
 * - a key is handed to at most one worker at a time;
 * - a key added while queued is queued once (dedupe);
 * - a key added while being processed is processed once more after `done`;
 * - `addAfter` schedules a key (the earliest time wins), instead of polling;
 * - `addRateLimited` backs off per key, exponentially and capped, until `forget`.
 *
 * And fair between groups of keys (namespaces): keys are handed out round-robin over the groups
 * that have keys waiting, and at most `maxInFlightPerGroup` keys of one group are processed at
 * once. With N workers and a cap of N − 1, a namespace whose reconciles hang (an issuer that
 * never answers) holds at most N − 1 workers, and every other namespace's keys still get one.
 * A key counts against its group until `done`, even when its worker has stopped waiting for it.
 */
import { type BackoffPolicy, backoffDelay } from "./backoff.ts";

export interface WorkQueueOptions {
  backoff?: BackoffPolicy;
  /** The group a key belongs to; by default the part before the first `/` (the namespace). */
  groupOf?: (key: string) => string;
  maxInFlightPerGroup?: number;
}

export const namespaceOf = (key: string): string => key.slice(0, Math.max(0, key.indexOf("/")));

export class WorkQueue {
  /** Waiting keys per group, in order; `ring` lists the groups that have some, round-robin. */
  private readonly waiting = new Map<string, string[]>();
  private readonly ring: string[] = [];
  private next = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly workers: Array<(key: string | undefined) => void> = [];
  private stopped = false;

  private readonly backoff: BackoffPolicy;
  private readonly groupOf: (key: string) => string;
  private readonly maxInFlightPerGroup: number;

  constructor(options: WorkQueueOptions = {}) {
    this.backoff = options.backoff ?? { baseMs: 1000, maxMs: 5 * 60_000 };
    this.groupOf = options.groupOf ?? namespaceOf;
    this.maxInFlightPerGroup = Math.max(1, options.maxInFlightPerGroup ?? Number.POSITIVE_INFINITY);
  }

  /** Keys waiting for a worker. */
  get length(): number {
    return this.queued.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const group = this.groupOf(key);
    const keys = this.waiting.get(group);
    if (keys) keys.push(key);
    else {
      this.waiting.set(group, [key]);
      this.ring.push(group);
    }
    this.dispatch();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Schedules a retry after this key's next backoff; returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = backoffDelay({ ...this.backoff, jitter: "spread" }, failures);
    this.addAfter(key, delay);
    return delay;
  }

  /**
   * Retries at once every key waiting out a backoff, keeping its failure count: what failed
   * because the API server was away should not wait out minutes of backoff once it is back.
   */
  retryBackedOff(): void {
    for (const [key, { timer }] of this.timers) {
      if (!this.failures.has(key)) continue; // a scheduled renewal, not a retry
      clearTimeout(timer);
      this.timers.delete(key);
      this.add(key);
    }
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.workers.push(resolve));
  }

  /** The next key if one may be processed now, else undefined; never waits. */
  tryGet(): string | undefined {
    return this.stopped ? undefined : this.take();
  }

  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const group = this.groupOf(key);
    const count = (this.inFlight.get(group) ?? 1) - 1;
    if (count > 0) this.inFlight.set(group, count);
    else this.inFlight.delete(group);
    if (this.dirty.delete(key)) this.add(key);
    else this.dispatch();
  }

  /** Hands out no more keys; waiting workers get undefined. */
  shutdown(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const worker of this.workers.splice(0)) worker(undefined);
  }

  private dispatch(): void {
    while (this.workers.length > 0) {
      const key = this.take();
      if (key === undefined) return;
      this.workers.shift()?.(key);
    }
  }

  /** The first waiting key of the next group (round-robin) that is under its cap. */
  private take(): string | undefined {
    for (let tried = 0; tried < this.ring.length; tried++) {
      const index = (this.next + tried) % this.ring.length;
      const group = this.ring[index] as string;
      const inFlight = this.inFlight.get(group) ?? 0;
      if (inFlight >= this.maxInFlightPerGroup) continue;
      const keys = this.waiting.get(group) as string[];
      const key = keys.shift() as string;
      if (keys.length === 0) {
        this.waiting.delete(group);
        this.ring.splice(index, 1);
        this.next = this.ring.length === 0 ? 0 : index % this.ring.length;
      } else {
        this.next = (index + 1) % this.ring.length;
      }
      this.queued.delete(key);
      this.processing.add(key);
      this.inFlight.set(group, inFlight + 1);
      return key;
    }
    return undefined;
  }
}
