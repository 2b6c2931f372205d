/**
 * Whether Rotor is working on a ClientCredential on its own (`Reconciling`) or waiting for a
 * person (`Stalled`), from its Ready, Rotating and RolledOut conditions: the conditions kstatus
 * (Flux's health checks) reads, and Rotor's Argo CD health check too, so both tell one story.
 * Stalled is what the README calls Degraded: a rollout that timed out (or outlived its secret),
 * an exhausted budget, an issuer error, a conflict, an invalid spec or namespace.
 */
import { type Condition, type Progress, setProgress } from "../../runtime/conditions.ts";

/** Not Ready for these reasons, Rotor is still getting there (and retries by itself). */
const ISSUING = new Set(["Issuing", "VerificationPending", "KubernetesError"]);
const ROLLOUT_STUCK = new Set(["RolloutTimeout", "ConsumersOutlivedSecret"]);

export function progressOf(conditions: readonly Condition[]): Progress | undefined {
  const find = (type: string) => conditions.find((c) => c.type === type);
  const ready = find("Ready");
  const rotating = find("Rotating");
  const rolledOut = find("RolledOut");
  const as = (type: Progress["type"], c: Condition): Progress => ({
    type,
    reason: c.reason,
    message: c.message,
  });
  if (ready?.status === "False") return as(ISSUING.has(ready.reason) ? "Reconciling" : "Stalled", ready);
  if (rolledOut?.status === "False" && ROLLOUT_STUCK.has(rolledOut.reason)) return as("Stalled", rolledOut);
  if (rotating?.status === "True")
    return as(rotating.reason === "SlotsExhausted" ? "Stalled" : "Reconciling", rotating);
  if (rolledOut?.status === "False") return as("Reconciling", rolledOut);
  return undefined;
}

/** The conditions with Reconciling or Stalled set from the others. */
export function withProgress(conditions: readonly Condition[], generation: number | undefined, now: Date) {
  return setProgress(conditions, progressOf(conditions), generation, now);
}
