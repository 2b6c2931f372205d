/**
 * The work a piece of code runs for — one reconcile, under one leadership term — carried through
 * async calls like Go's context.Context, so that every Kubernetes request made on its behalf can
 * be refused or cancelled when that work must stop, without each call site passing a signal
 * along. `kube.ts` consults it before every request and again right before the request is
 * written to the socket.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface WorkScope {
  /** Aborted when the work must stop: its leadership ended or its time budget ran out. */
  readonly signal: AbortSignal;
  /**
   * Aborts `signal` now if the work's time is already up, even if the timer that would abort
   * it has not run yet: a process that resumes after being frozen runs I/O callbacks (and the
   * requests they start) before timers.
   */
  refresh(): void;
}

const storage = new AsyncLocalStorage<WorkScope>();

/** Runs `work` in `scope`: everything it starts, awaits or schedules sees that scope. */
export function runInScope<T>(scope: WorkScope, work: () => Promise<T>): Promise<T> {
  return storage.run(scope, work);
}

export function currentScope(): WorkScope | undefined {
  return storage.getStore();
}

/**
 * Throws the reason the current work must stop, if it must. Call before an effect outside
 * Kubernetes (an issuer write); Kubernetes requests are checked in `kube.ts`.
 */
export function throwIfCancelled(scope = currentScope()): void {
  if (!scope) return;
  scope.refresh();
  scope.signal.throwIfAborted();
}

/** Why work stopped: leadership ended, Rotor is shutting down, or a reconcile ran out of time. */
export class WorkCancelled extends Error {
  override readonly name = "WorkCancelled";
}
