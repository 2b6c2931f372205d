/**
 * Start-up steps that read the Kubernetes API wait for it while it cannot answer — the API
 * server restarting as Rotor starts — instead of failing the start: a crash loop would only add
 * Kubernetes' growing restart delays to the outage. 401 and 403 are waited out too: an API
 * server that has just started refuses requests until its authorizer has loaded the RBAC
 * bindings, and a GitOps tool may apply Rotor's RBAC after its Deployment. An answer that
 * waiting cannot change (a bad request, a bad file) still fails the start at once.
 */
import { backoffDelay, sleep } from "./backoff.ts";
import { isStatus, isUnavailable } from "./kube.ts";
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
      const refused = isStatus(error, 401) || isStatus(error, 403);
      if (!(refused || isUnavailable(error)) || performance.now() + retryMs > end) throw error;
      options.log.warn(
        { what, error: describeError(error), retryMs },
        refused
          ? "the Kubernetes API refused Rotor: waiting (check Rotor's RBAC if this goes on)"
          : "waiting for the Kubernetes API",
      );
      await sleep(retryMs);
    }
  }
}
