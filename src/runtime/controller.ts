/**
 * Runs a reconciler over a work queue with a fixed number of workers, for one leadership term at
 * a time. Reconcilers are level-based: they get a key, read the current state and return when to
 * look again.
 *
 * Each reconcile runs in a work scope (`scope.ts`) whose signal is aborted when the term ends or
 * when the reconcile exceeds its time budget; Kubernetes requests made for it are then refused or
 * aborted. A worker stops waiting for a reconcile whose signal was aborted and takes the next
 * key; the abandoned reconcile keeps its key (no second worker runs it) until it settles, and a
 * timed-out key is retried with backoff.
 */
import type { BackoffPolicy } from "./backoff.ts";
import { describeError, type Logger } from "./log.ts";
import { WorkQueue } from "./queue.ts";
import { runInScope, WorkCancelled, type WorkScope } from "./scope.ts";

export interface Result {
  /** Look at this key again after this many milliseconds (e.g. at the renewal time). */
  requeueAfterMs?: number;
  /**
   * The reconcile could not do its work and has reported why (a condition, an event): retry
   * with this key's backoff. The queue owns all backoff; reconcilers never compute their own.
   */
  failed?: boolean;
}

export interface Reconciler {
  /**
   * `signal` is aborted when this reconcile must stop (leadership ended, time budget spent):
   * pass it to anything that can honour it, and make no write after it aborted.
   */
  reconcile(key: string, signal: AbortSignal): Promise<Result>;
}

export type ReconcileOutcome = "success" | "error" | "timeout" | "cancelled";

export interface ControllerOptions {
  name: string;
  workers: number;
  reconciler: Reconciler;
  log: Logger;
  /** A reconcile that takes longer is aborted and retried with backoff. */
  reconcileTimeoutMs: number;
  backoff?: BackoffPolicy;
  /** The fairness group of a key (see WorkQueue); by default its namespace. */
  groupOf?: (key: string) => string;
  onReconciled?: (durationSeconds: number, outcome: ReconcileOutcome) => void;
}

/** setTimeout takes at most a signed 32-bit delay; renewals months away are re-checked sooner. */
const MAX_DELAY_MS = 2_147_483_647;

export class Controller {
  private queue: WorkQueue | undefined;
  private workers: Promise<void>[] = [];
  /** Reconciles still running, including those whose worker stopped waiting. */
  private readonly running = new Set<Promise<unknown>>();
  private readonly options: ControllerOptions;

  constructor(options: ControllerOptions) {
    this.options = options;
  }

  get name(): string {
    return this.options.name;
  }

  /** Keys waiting for a worker (0 while this replica does not lead). */
  get depth(): number {
    return this.queue?.length ?? 0;
  }

  /** Queues a key, if the controller runs (a follower ignores events). */
  enqueue(key: string): void {
    this.queue?.add(key);
  }

  /** Retries every key that waits out a backoff now (see WorkQueue.retryBackedOff). */
  retryBackedOff(): void {
    this.queue?.retryBackedOff();
  }

  /** Starts workers for one term: a fresh queue, no state carried over from an earlier term. */
  start(term: WorkScope): void {
    const { workers, backoff, groupOf } = this.options;
    const queue = new WorkQueue({ backoff, groupOf, maxInFlightPerGroup: Math.max(1, workers - 1) });
    this.queue = queue;
    this.workers = Array.from({ length: workers }, () => this.work(queue, term));
  }

  /** Stops handing out keys; in-flight reconciles go on (see `idle`). */
  stop(): void {
    this.queue?.shutdown();
    this.queue = undefined;
  }

  /** Resolves true once every worker and every reconcile has finished, false after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const finished = (async () => {
      await Promise.all(this.workers);
      while (this.running.size > 0) await Promise.allSettled([...this.running]);
      return true;
    })();
    const result = await Promise.race([finished, timeout]);
    clearTimeout(timer);
    return result;
  }

  private async work(queue: WorkQueue, term: WorkScope): Promise<void> {
    const { reconciler, log, name, onReconciled, reconcileTimeoutMs } = this.options;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      term.refresh();
      if (term.signal.aborted) {
        // No new reconcile once the term has ended, even before the queue is shut down.
        queue.done(key);
        return;
      }
      const started = performance.now();
      const budget = new ReconcileBudget(term, reconcileTimeoutMs, `${name} ${key}`);
      const reconcile = runInScope(budget, () => reconciler.reconcile(key, budget.signal)).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      this.running.add(reconcile);
      const settled = reconcile.finally(() => {
        budget.dispose();
        this.running.delete(reconcile);
        queue.done(key);
      });
      const outcome = await Promise.race([reconcile, budget.aborted]);
      const seconds = () => (performance.now() - started) / 1000;
      if ("cancelled" in outcome || (budget.signal.aborted && "error" in outcome)) {
        void settled;
        if (term.signal.aborted) {
          log.info({ controller: name, key }, "reconcile cancelled: leadership ended");
          onReconciled?.(seconds(), "cancelled");
          return;
        }
        const retryMs = queue.addRateLimited(key);
        log.warn(
          { controller: name, key, retryMs, timeoutMs: reconcileTimeoutMs },
          "reconcile exceeded its time budget; cancelled, retrying",
        );
        onReconciled?.(seconds(), "timeout");
        continue;
      }
      await settled;
      if ("result" in outcome && outcome.result.failed) {
        const retryMs = queue.addRateLimited(key);
        log.debug({ controller: name, key, retryMs }, "reconcile reported a failure; retrying");
        onReconciled?.(seconds(), "error");
      } else if ("result" in outcome) {
        queue.forget(key);
        const after = outcome.result.requeueAfterMs;
        if (after !== undefined) queue.addAfter(key, Math.min(Math.max(after, 0), MAX_DELAY_MS));
        onReconciled?.(seconds(), "success");
      } else {
        const retryMs = queue.addRateLimited(key);
        log.warn(
          { controller: name, key, retryMs, error: describeError(outcome.error) },
          "reconcile failed; retrying",
        );
        onReconciled?.(seconds(), "error");
      }
    }
  }
}

/** One reconcile's scope: aborted when its term ends or when `timeoutMs` has passed. */
class ReconcileBudget implements WorkScope {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly term: WorkScope;
  private readonly onTermEnd = () => this.controller.abort(this.term.signal.reason);
  /** Resolves when the signal aborts (never otherwise). */
  readonly aborted: Promise<{ cancelled: true }>;

  constructor(term: WorkScope, timeoutMs: number, what: string) {
    this.term = term;
    this.timer = setTimeout(
      () => this.controller.abort(new WorkCancelled(`${what} exceeded its time budget of ${timeoutMs} ms`)),
      timeoutMs,
    );
    term.signal.addEventListener("abort", this.onTermEnd, { once: true });
    this.aborted = new Promise((resolve) =>
      this.controller.signal.addEventListener("abort", () => resolve({ cancelled: true }), { once: true }),
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Work the reconcile scheduled may outlive it (a coalesced workload restart on a timer) and
   * still runs in this scope: after `dispose` the term's end no longer aborts it by event, so
   * it is carried over here, at every check.
   */
  refresh(): void {
    this.term.refresh();
    if (this.term.signal.aborted && !this.controller.signal.aborted)
      this.controller.abort(this.term.signal.reason);
  }

  /** Stops the clock (the reconcile settled). */
  dispose(): void {
    clearTimeout(this.timer);
    this.term.signal.removeEventListener("abort", this.onTermEnd);
  }
}
