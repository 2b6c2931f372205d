/**
 * The soak's settings: its command line, the ClientCredential spec every credential gets, and
 * the fault schedule derived from the run's length.
 */
import { parseArgs } from "node:util";
import { parseDuration } from "../../src/api/duration.ts";

export interface SoakOptions {
  minutes: number;
  credentials: number;
  /** Credentials consumed by one Deployment (its pod template references each target Secret). */
  perDeployment: number;
  /** Credentials per namespace: restarts are limited per namespace (--max-restarts-per-namespace). */
  perNamespace: number;
  killEveryMs: number;
  apiRestartEveryMs: number;
  /** How long the API server stays down at each restart (its start-up comes on top). */
  apiDownMs: number;
  /** Credentials the token prober asks a token for, once a second each. */
  probed: number;
  /** An existing control plane (its state.json, for restarts); absent: the soak starts its own. */
  controlPlaneDir?: string;
  kubeconfig?: string;
  json?: string;
}

/** What every credential asks for; see the header of week.ts for why. */
export const SPEC = {
  validity: "2m",
  renewBefore: "60s",
  gracePeriod: "10s",
  maxSecrets: 4,
} as const;
export const VALIDITY_MS = parseDuration(SPEC.validity);
export const RENEW_BEFORE_MS = parseDuration(SPEC.renewBefore);
/** Between two renewals of one credential. */
export const PERIOD_MS = VALIDITY_MS - RENEW_BEFORE_MS;
/** A renewal whose new secret reaches the target Secret later than this after renewalTime is late. */
export const LATE_MS = 5000;

export const DEFAULTS: SoakOptions = {
  minutes: 60,
  credentials: 200,
  perDeployment: 10,
  perNamespace: 50,
  killEveryMs: 5 * 60_000,
  apiRestartEveryMs: 10 * 60_000,
  apiDownMs: 10_000,
  probed: 4,
};

export function parseOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: "string" },
      credentials: { type: "string" },
      "per-deployment": { type: "string" },
      "per-namespace": { type: "string" },
      "kill-every": { type: "string" },
      "api-restart-every": { type: "string" },
      "api-down": { type: "string" },
      probed: { type: "string" },
      kubeconfig: { type: "string" },
      "controlplane-dir": { type: "string" },
      json: { type: "string" },
    },
  });
  const number = (value: string | undefined, fallback: number, what: string, min = 1) => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${what} must be a number ≥ ${min}`);
    return n;
  };
  const minutes = number(values.minutes, DEFAULTS.minutes, "minutes");
  if (values.kubeconfig && !values["controlplane-dir"])
    throw new Error("--kubeconfig needs --controlplane-dir (its state.json, to restart the API server)");
  const runMs = minutes * 60_000;
  return {
    minutes,
    credentials: Math.floor(number(values.credentials, DEFAULTS.credentials, "credentials")),
    perDeployment: Math.floor(number(values["per-deployment"], DEFAULTS.perDeployment, "per-deployment")),
    perNamespace: Math.floor(number(values["per-namespace"], DEFAULTS.perNamespace, "per-namespace")),
    // Short runs: scaled down so that at least one of each fault happens.
    killEveryMs: values["kill-every"]
      ? parseDuration(values["kill-every"])
      : Math.min(DEFAULTS.killEveryMs, runMs / 2.5),
    apiRestartEveryMs: values["api-restart-every"]
      ? parseDuration(values["api-restart-every"])
      : Math.min(DEFAULTS.apiRestartEveryMs, runMs / 2),
    apiDownMs: values["api-down"] ? parseDuration(values["api-down"]) : DEFAULTS.apiDownMs,
    probed: Math.floor(number(values.probed, DEFAULTS.probed, "probed", 0)),
    controlPlaneDir: values["controlplane-dir"],
    kubeconfig: values.kubeconfig,
    json: values.json,
  };
}

export type FaultKind = "leader-kill" | "api-restart";

export interface ScheduledFault {
  kind: FaultKind;
  /** Milliseconds after the run's start. */
  atMs: number;
}

/**
 * Leader kills every `killEveryMs`; API server restarts every `apiRestartEveryMs`, offset by
 * half a kill interval so that each fault's recovery is seen on its own. Nothing is scheduled in
 * the last 45 s: the run ends on a recovered system. 0 turns a kind off.
 */
export function schedule(options: SoakOptions): ScheduledFault[] {
  const endMs = options.minutes * 60_000 - 45_000;
  const faults: ScheduledFault[] = [];
  const every = (kind: FaultKind, intervalMs: number, offsetMs: number) => {
    if (intervalMs <= 0) return;
    for (let at = intervalMs + offsetMs; at <= endMs; at += intervalMs) faults.push({ kind, atMs: at });
  };
  every("leader-kill", options.killEveryMs, 0);
  every("api-restart", options.apiRestartEveryMs, options.killEveryMs > 0 ? options.killEveryMs / 2 : 0);
  return faults.sort((a, b) => a.atMs - b.atMs);
}

export const minutesOf = (ms: number) => `${(ms / 60_000).toFixed(ms % 60_000 === 0 ? 0 : 1)} min`;
