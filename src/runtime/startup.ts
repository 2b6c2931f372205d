/**
 * Start-up steps that read the Kubernetes API wait for it while it cannot answer — the API
 * server restarting as Rotor starts — instead of failing the start: a crash loop would only add
 * Kubernetes' growing restart delays to the outage. An answer that waiting cannot change (403,
 * a missing object, a bad file) still fails the start at once.
 */
import { backoffDelay, sleep } from "./backoff.ts";
import { isUnavailable } from "./kube.ts";
import { describeError, type Logger } from "./log.ts";

export async function whenApiAnswers<T>(
  what: string,
  step: () => Promise<T>,
  options: { deadlineMs: number; log: Logger },
): Promise<T> {
  const end = performance.now() + options.deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const retryMs = backoffDelay({ baseMs: 500, maxMs: 5000, jitter: "spread" }, attempt);
      if (!isUnavailable(error) || performance.now() + retryMs > end) throw error;
      options.log.warn({ what, error: describeError(error), retryMs }, "waiting for the Kubernetes API");
      await sleep(retryMs);
    }
  }
}
