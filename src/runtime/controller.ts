/**
 * Runs a reconciler over a work queue with a fixed number of workers. Reconcilers are
 * level-based: they get a key, read the current state and return when to look again.
 */
import { describeError, type Logger } from "./log.ts";
import type { WorkQueue } from "./queue.ts";

export interface Result {
  /** Look at this key again after this many milliseconds (e.g. at the renewal time). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: string): Promise<Result>;
}

export interface ControllerOptions {
  name: string;
  workers: number;
  queue: WorkQueue;
  reconciler: Reconciler;
  log: Logger;
  onReconciled?: (durationSeconds: number, outcome: "success" | "error") => void;
}

/** setTimeout takes at most a signed 32-bit delay; renewals months away are re-checked sooner. */
const MAX_DELAY_MS = 2_147_483_647;

export class Controller {
  private workers: Promise<void>[] = [];

  private readonly options: ControllerOptions;

  constructor(options: ControllerOptions) {
    this.options = options;
  }

  start(): void {
    const { workers } = this.options;
    this.workers = Array.from({ length: workers }, () => this.work());
  }

  /** Stops taking keys and waits (up to `timeoutMs`) for in-flight reconciles to finish. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.options.queue.shutdown();
    const finished = Promise.all(this.workers).then(() => true);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([finished, timeout]);
  }

  private async work(): Promise<void> {
    const { queue, reconciler, log, name, onReconciled } = this.options;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const result = await reconciler.reconcile(key);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) {
          queue.addAfter(key, Math.min(Math.max(result.requeueAfterMs, 0), MAX_DELAY_MS));
        }
        onReconciled?.((performance.now() - started) / 1000, "success");
      } catch (error) {
        const retryMs = queue.addRateLimited(key);
        log.warn(
          { controller: name, key, retryMs, error: describeError(error) },
          "reconcile failed; retrying",
        );
        onReconciled?.((performance.now() - started) / 1000, "error");
      } finally {
        queue.done(key);
      }
    }
  }
}
