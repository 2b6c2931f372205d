/**
 * The rollover gate: a superseded secret is revoked only once the target Secret no longer holds
 * it, no pod that may hold it is left (strategies Restart and Observe) and the grace period has
 * passed since; never after it expires. Also the bootstrap handover of OCS auth.self, which
 * waits for the same thing.
 */
import { parseDuration } from "../../api/duration.ts";
import { RESTARTABLE, rolloutSince, type WorkloadRef, workloadKey } from "../rollout/consumers.ts";
import type { Draft, Verdict } from "./draft.ts";
import type { Version } from "./model.ts";

/** While a rollover is pending, how often Rotor looks at the consumers again. */
export const ROLLOUT_RECHECK_MS = 5000;

/**
 * Where in each resync period a ClientCredential's consumers are counted again, from a hash of
 * its uid. ClientCredentials created together (10,000 applied at once) would otherwise all wake
 * in the same second of every period, and list their pods together: this spreads them evenly
 * over the period instead. The slot depends on the uid alone, never on when a reconcile
 * happened to run, so decide stays pure, a credential keeps its slot across restarts of Rotor
 * and across reconciles woken by other events, and it wakes once per period.
 */
export function consumerResyncAt(d: Draft, periodMs: number): number {
  const period = Math.max(1, periodMs);
  const phase = Math.floor((fnv1a(d.snapshot.cc.uid) / 0x1_0000_0000) * period);
  // A reconcile that runs just before its slot (woken by something else, or by a timer on a
  // clock a little behind) takes the next slot rather than waking again at once.
  const earliest = d.t + RESYNC_MIN_GAP_MS;
  return earliest + ((((phase - earliest) % period) + period) % period);
}

const RESYNC_MIN_GAP_MS = 1000;

/** FNV-1a, 32 bits: cheap and well spread over uids, which differ in any character. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

const names = (refs: WorkloadRef[]) => refs.map(workloadKey).join(", ") || "(none)";

/** gracePeriod, never less than the floor where Rotor waits for pods (their clocks meet Rotor's). */
function graceMs(d: Draft): number {
  const gated = d.snapshot.cc.spec.rollout.strategy !== "None";
  return gated ? Math.max(d.timing.graceMs, d.options.gracePeriodFloorMs) : d.timing.graceMs;
}

/**
 * When the target switched away from `v`: its annotation (the API server's time of the switch),
 * else the server's time of Rotor's last write of the target, else now.
 */
function supersededAtOf(d: Draft, v: Version): number {
  if (v.supersededAt) return Date.parse(v.supersededAt);
  const { target } = d.snapshot;
  return target.state === "owned" && target.writtenAt ? Date.parse(target.writtenAt) : d.t;
}

export function rollover(d: Draft): Verdict {
  const { cc, consumers, target } = d.snapshot;
  const strategy = cc.spec.rollout.strategy;
  const grace = graceMs(d);
  for (const v of d.versions.superseded) {
    const expiresAt = Date.parse(v.notAfter);
    // The switch did not reach the target (its write failed): it still hands out this secret.
    // Nothing is superseded, and no grace period starts, until the target is repaired.
    if (target.state === "owned" && target.secretId === v.secretId && expiresAt > d.t) continue;
    const supersededAt = supersededAtOf(d, v);
    if (!v.supersededAt)
      d.add({ type: "markSuperseded", versionName: v.name, at: new Date(supersededAt).toISOString() });
    const view = strategy !== "None" && consumers ? rolloutSince(consumers, supersededAt) : undefined;
    if (expiresAt <= d.t) {
      // A superseded secret never outlives its expiry, whoever still holds it.
      d.revoke(v.secretId, v.name, "expired");
      if (view && view.oldPods.length > 0)
        d.notice({
          type: "Warning",
          reason: "ConsumersOutlivedSecret",
          message: `secret ${v.secretId} expired and was revoked while ${view.oldPods.length} pod(s) of ${names(view.pendingWorkloads.map((w) => w.ref))} that may hold it were still alive`,
        });
      continue;
    }
    if (strategy === "None") {
      if (supersededAt + grace <= d.t) d.revoke(v.secretId, v.name, "superseded");
      else d.wakeAt(Math.min(supersededAt + grace, expiresAt));
      continue;
    }
    if (!view) {
      d.wakeAt(Math.min(d.t + ROLLOUT_RECHECK_MS, expiresAt));
      continue;
    }
    if (view.oldPods.length === 0) {
      // Rollover complete: no live pod created before the switch. Revoke after the grace period.
      const rolledOutAt = v.rolledOutAt ? Date.parse(v.rolledOutAt) : d.t;
      if (!v.rolledOutAt)
        d.add({ type: "markRolledOut", versionName: v.name, at: new Date(d.t).toISOString() });
      if (rolledOutAt + grace <= d.t) d.revoke(v.secretId, v.name, "superseded");
      else d.wakeAt(Math.min(rolledOutAt + grace, expiresAt));
      continue;
    }
    restartPending(d, v, view.pendingWorkloads);
    const timeoutMs = parseDuration(cc.spec.rollout.timeout);
    if (d.t >= supersededAt + timeoutMs) {
      d.notice({
        type: "Warning",
        reason: "RolloutTimeout",
        message: `${names(view.pendingWorkloads.map((w) => w.ref))} did not roll over within ${cc.spec.rollout.timeout}; secret ${v.secretId} stays until it expires at ${v.notAfter}`,
      });
    }
    d.wakeAt(Math.min(d.t + ROLLOUT_RECHECK_MS, expiresAt));
  }
}

/** Strategy Restart: each workload with old pods is restarted once for the current secret. */
function restartPending(
  d: Draft,
  v: Version,
  workloads: ReturnType<typeof rolloutSince>["pendingWorkloads"],
): void {
  const { current } = d.versions;
  if (d.snapshot.cc.spec.rollout.strategy !== "Restart" || !current) return;
  for (const workload of workloads) {
    if (!RESTARTABLE.has(workload.ref.kind)) continue; // Jobs and bare pods are waited for.
    if (workload.paused) {
      d.notice({
        type: "Warning",
        reason: "RolloutPaused",
        message: `${workloadKey(workload.ref)} is paused: Rotor does not force it; secret ${v.secretId} stays until it rolls over or expires`,
      });
      continue;
    }
    // Already restarted for this secret: its stamp names it (no clocks compared).
    if (workload.restartedFor.includes(current.secretId)) continue;
    const key = workloadKey(workload.ref);
    if (!d.actions.some((a) => a.type === "restart" && workloadKey(a.workload) === key))
      d.add({ type: "restart", workload: workload.ref, secretId: current.secretId });
  }
}

/**
 * OCS auth.self: the bootstrap secret is superseded by Rotor's first own secret. Whoever holds
 * it read it from the bootstrap Secret, so that Secret's consumers are the ones to wait for.
 */
export function bootstrapHandover(d: Draft): Verdict {
  const { bootstrap, cc, secretName, versions } = d.snapshot;
  const firstSwitch = versions.flatMap((v) => (v.activatedAt ? [Date.parse(v.activatedAt)] : []));
  if (!bootstrap || firstSwitch.length === 0) return;
  if (!d.atIssuer.has(bootstrap.secretId) || d.inVersions.has(bootstrap.secretId)) return;
  const since = Math.min(...firstSwitch);
  const holders = cc.spec.rollout.strategy === "None" ? [] : bootstrap.consumers?.pods;
  const grace = graceMs(d);
  if (holders === undefined) d.wakeAt(d.t + ROLLOUT_RECHECK_MS);
  else if (holders.length > 0) {
    d.notice({
      type: "Warning",
      reason: "BootstrapInUse",
      message: `${holders.length} pod(s) still read bootstrap Secret ${bootstrap.secretName}; point them at Secret ${secretName}, then Rotor revokes bootstrap secret ${bootstrap.secretId}`,
    });
    d.wakeAt(consumerResyncAt(d, Math.min(d.options.consumerResyncMs, 60_000)));
  } else if (since + grace <= d.t) d.revoke(bootstrap.secretId, undefined, "bootstrap");
  else d.wakeAt(since + grace);
}
