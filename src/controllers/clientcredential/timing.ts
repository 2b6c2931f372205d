/** The times a ClientCredential's spec sets: lifetime, renewal and grace, in milliseconds. */
import { isoSeconds, parseDuration } from "../../api/duration.ts";
import type { Snapshot, Version } from "./model.ts";

export interface Timing {
  validityMs: number;
  renewBeforeMs: number;
  graceMs: number;
}

export function timingOf(spec: Snapshot["cc"]["spec"]): Timing {
  const validityMs = parseDuration(spec.validity);
  return {
    validityMs,
    renewBeforeMs: spec.renewBefore ? parseDuration(spec.renewBefore) : Math.floor(validityMs / 3),
    graceMs: parseDuration(spec.gracePeriod),
  };
}

export const renewalTimeOf = (version: Version, timing: Timing) =>
  Date.parse(version.notAfter) - timing.renewBeforeMs;

/** A new secret's expiry, in whole seconds: what issuers store and what users read. */
export const expiryOf = (now: number, timing: Timing) => isoSeconds(now + timing.validityMs);
