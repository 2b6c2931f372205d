/**
 * Exponential backoff, the one formula every retry in Rotor uses: `base · 2^attempt`, capped.
 * Jitter keeps keys (or replicas) that failed together from retrying together.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /**
   * `none`: exact; `spread`: ±10% (queues: keep the order roughly, break up herds);
   * `full`: anywhere in [0, delay] (AWS "full jitter": for requests to a shared remote).
   */
  jitter?: "none" | "spread" | "full";
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  switch (policy.jitter ?? "none") {
    case "none":
      return delay;
    case "spread":
      return Math.round(delay * (0.9 + random() * 0.2));
    case "full":
      return Math.round(random() * delay);
  }
}

/** Resolves after `ms`, or at once (rejecting with the signal's reason) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/**
 * Calls `attempt` until it returns a value other than `undefined`, backing off between tries,
 * for at most `deadlineMs` (measured on the monotonic clock). Returns `undefined` on timeout.
 */
export async function retryUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: { deadlineMs: number; backoff: BackoffPolicy; signal?: AbortSignal },
): Promise<T | undefined> {
  const end = performance.now() + options.deadlineMs;
  for (let n = 0; ; n++) {
    const result = await attempt();
    if (result !== undefined) return result;
    const wait = backoffDelay(options.backoff, n);
    if (performance.now() + wait >= end) return undefined;
    await sleep(wait, options.signal);
  }
}
