/**
 * The ClientCredential policy: a pure function from what Rotor observed to what it should do.
 * No I/O and no clock of its own (`now` is given), so every rule below is tested by tables of
 * snapshots and expected plans.
 */
import { formatDuration, parseDuration } from "../../api/duration.ts";
import { RESTARTABLE, rolloutSince, type WorkloadRef, workloadKey } from "../rollout/consumers.ts";
import {
  type Action,
  type Blocker,
  type Notice,
  type Plan,
  parseMarker,
  type Snapshot,
  type Version,
} from "./model.ts";

/** While a rollover is pending, how often Rotor looks at the consumers again. */
export const ROLLOUT_RECHECK_MS = 5000;

const names = (refs: WorkloadRef[]) => refs.map(workloadKey).join(", ") || "(none)";

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

/** Where each version Secret stands relative to the target Secret. */
export interface Classified {
  current: Version | undefined;
  /** Newer than current, persisted but not yet switched to (a crash or a failed verify). */
  pending: Version | undefined;
  /** Were current once; wait for the rollout, then are revoked. */
  superseded: Version[];
  /** Never became current and never will: nobody can hold them. */
  abandoned: Version[];
}

export function classify(versions: readonly Version[]): Classified {
  let currentIndex = -1;
  versions.forEach((v, i) => {
    if (v.activatedAt) currentIndex = i;
  });
  const current = currentIndex >= 0 ? versions[currentIndex] : undefined;
  const newer = versions.slice(currentIndex + 1);
  const pending = newer.at(-1);
  const older = versions.slice(0, Math.max(0, currentIndex));
  return {
    current,
    pending,
    superseded: older.filter((v) => v.activatedAt),
    abandoned: [...older.filter((v) => !v.activatedAt), ...newer.slice(0, -1)],
  };
}

/** The last rotor.dev/rotate value acted upon: durable on the version it produced. */
export function lastRotateRequest(snapshot: Snapshot): string | undefined {
  const fromVersions = [...snapshot.versions]
    .reverse()
    .find((v) => v.rotateRequest !== undefined)?.rotateRequest;
  return fromVersions ?? snapshot.cc.status.lastRotateRequest;
}

export interface DecideOptions {
  /** How long a deletion waits for an unreachable issuer before the finalizer goes anyway. */
  finalizerTimeoutMs: number;
  /** Restart and Observe: how often consumers are counted again when no rollover is pending. */
  consumerResyncMs: number;
}

export function decide(snapshot: Snapshot, now: Date, options: DecideOptions): Plan {
  if (snapshot.cc.deletionTimestamp) return decideDeletion(snapshot, now, options);

  const actions: Action[] = [];
  const notices: Notice[] = [];
  if (!snapshot.cc.hasFinalizer) actions.push({ type: "addFinalizer" });
  const done = (blocker?: Blocker, requeueAfterMs?: number): Plan => ({
    actions,
    blocker,
    requeueAfterMs,
    notices,
  });

  if (snapshot.clientHeldBy) {
    return done({
      reason: "ClientIdConflict",
      message: `client ${snapshot.clientId} belongs to ClientCredential ${snapshot.clientHeldBy}; Rotor mints nothing for a second holder`,
    });
  }
  if (!snapshot.issuer.ok) return done({ reason: snapshot.issuer.reason, message: snapshot.issuer.message });
  if (snapshot.issuerError !== undefined)
    return done({ reason: "IssuerError", message: snapshot.issuerError });
  if (snapshot.target.state === "foreign") {
    return done({
      reason: "SecretConflict",
      message: `Secret ${snapshot.secretName} exists and is not controlled by this ClientCredential; Rotor does not overwrite it. Delete it or choose another spec.secretName`,
    });
  }

  // A client named in the spec that the issuer does not know: a mistyped id must not create a
  // stray client in someone's tenant.
  if (
    snapshot.clientExists === false &&
    !snapshot.clientOwnedByRotor &&
    !snapshot.issuer.createsNamedClients
  ) {
    return done({
      reason: "IssuerError",
      message: `client ${snapshot.clientId} does not exist at the issuer: check spec.clientId (it is immutable; to use another client, create a new ClientCredential)`,
    });
  }

  // No client yet (or it vanished at the issuer): create it with its first secret. Versions of
  // a vanished client hold secrets that no longer exist; they go.
  if (snapshot.clientId === undefined || snapshot.clientExists === false) {
    for (const v of snapshot.versions)
      actions.push({
        type: "deleteVersion",
        versionName: v.name,
        why: "its client no longer exists at the issuer",
      });
    actions.push({ type: "createClient", clientId: snapshot.clientId });
    return done();
  }

  const t = now.getTime();
  const timing = timingOf(snapshot.cc.spec);
  const wakeups: number[] = [];
  const issuerSecrets = snapshot.issuerSecrets ?? [];
  const atIssuer = new Set(issuerSecrets.map((s) => s.id));
  const inVersions = new Set(snapshot.versions.map((v) => v.secretId));
  let revoking = 0;
  const revoke = (
    secretId: string,
    versionName: string | undefined,
    reason: Extract<Action, { type: "revoke" }>["reason"],
  ) => {
    actions.push({ type: "revoke", secretId, versionName, reason });
    if (atIssuer.has(secretId)) revoking++;
  };

  // Rotor's own secrets that have no version Secret: minted, never persisted (a crash in
  // between). Their value is lost for good, so nobody can hold them.
  for (const secret of issuerSecrets) {
    if (parseMarker(secret.description)?.ownerUid === snapshot.cc.uid && !inVersions.has(secret.id)) {
      revoke(secret.id, undefined, "orphan");
    }
  }

  // A current secret that is gone from the issuer (revoked by someone else) is replaced at once.
  // Versions whose secret is gone are revoked idempotently below, which deletes them.
  const { current, pending, superseded, abandoned } = classify(snapshot.versions);
  const currentLost = current !== undefined && (!atIssuer.has(current.secretId) || !current.hasValue);

  for (const v of abandoned) revoke(v.secretId, v.name, "abandoned");

  for (const v of superseded) {
    if (!v.supersededAt) actions.push({ type: "markSuperseded", versionName: v.name });
    const supersededAt = v.supersededAt ? Date.parse(v.supersededAt) : t;
    const expiresAt = Date.parse(v.notAfter);
    const strategy = snapshot.cc.spec.rollout.strategy;
    const view =
      strategy !== "None" && snapshot.consumers ? rolloutSince(snapshot.consumers, supersededAt) : undefined;
    if (expiresAt <= t) {
      // A superseded secret never outlives its expiry, whoever still holds it.
      revoke(v.secretId, v.name, "expired");
      if (view && view.oldPods.length > 0) {
        notices.push({
          type: "Warning",
          reason: "ConsumersOutlivedSecret",
          message: `secret ${v.secretId} expired and was revoked while ${view.oldPods.length} pod(s) of ${names(view.pendingWorkloads.map((w) => w.ref))} that may hold it were still alive`,
        });
      }
      continue;
    }
    if (strategy === "None") {
      if (supersededAt + timing.graceMs <= t) revoke(v.secretId, v.name, "superseded");
      else wakeups.push(Math.min(supersededAt + timing.graceMs, expiresAt));
      continue;
    }
    if (!view) {
      wakeups.push(Math.min(t + ROLLOUT_RECHECK_MS, expiresAt));
      continue;
    }
    if (view.oldPods.length === 0) {
      // Rollover complete: no live pod created before the switch. Revoke after gracePeriod.
      const rolledOutAt = v.rolledOutAt ? Date.parse(v.rolledOutAt) : t;
      if (!v.rolledOutAt) actions.push({ type: "markRolledOut", versionName: v.name });
      if (rolledOutAt + timing.graceMs <= t) revoke(v.secretId, v.name, "superseded");
      else wakeups.push(Math.min(rolledOutAt + timing.graceMs, expiresAt));
      continue;
    }
    if (strategy === "Restart" && current) {
      for (const workload of view.pendingWorkloads) {
        if (!RESTARTABLE.has(workload.ref.kind)) continue; // Jobs and bare pods are waited for.
        if (workload.paused) {
          notices.push({
            type: "Warning",
            reason: "RolloutPaused",
            message: `${workloadKey(workload.ref)} is paused: Rotor does not force it; secret ${v.secretId} stays until it rolls over or expires`,
          });
          continue;
        }
        if (workload.restartedAt !== undefined && workload.restartedAt >= supersededAt) continue;
        if (
          !actions.some((a) => a.type === "restart" && workloadKey(a.workload) === workloadKey(workload.ref))
        ) {
          actions.push({ type: "restart", workload: workload.ref, secretId: current.secretId });
        }
      }
    }
    const timeoutMs = parseDuration(snapshot.cc.spec.rollout.timeout);
    if (t >= supersededAt + timeoutMs) {
      notices.push({
        type: "Warning",
        reason: "RolloutTimeout",
        message: `${names(view.pendingWorkloads.map((w) => w.ref))} did not roll over within ${snapshot.cc.spec.rollout.timeout}; secret ${v.secretId} stays until it expires at ${v.notAfter}`,
      });
    }
    wakeups.push(Math.min(t + ROLLOUT_RECHECK_MS, expiresAt));
  }

  const bootstrap = snapshot.bootstrap;
  const firstSwitch = snapshot.versions.flatMap((v) => (v.activatedAt ? [Date.parse(v.activatedAt)] : []));
  if (
    bootstrap &&
    firstSwitch.length > 0 &&
    atIssuer.has(bootstrap.secretId) &&
    !inVersions.has(bootstrap.secretId)
  ) {
    // The bootstrap secret is superseded by Rotor's first own secret. Whoever holds it read it
    // from the bootstrap Secret, so that Secret's consumers are the ones to wait for.
    const since = Math.min(...firstSwitch);
    const holders = snapshot.cc.spec.rollout.strategy === "None" ? [] : bootstrap.consumers?.pods;
    if (holders === undefined) wakeups.push(t + ROLLOUT_RECHECK_MS);
    else if (holders.length > 0) {
      notices.push({
        type: "Warning",
        reason: "BootstrapInUse",
        message: `${holders.length} pod(s) still read bootstrap Secret ${bootstrap.secretName}; point them at Secret ${snapshot.secretName}, then Rotor revokes bootstrap secret ${bootstrap.secretId}`,
      });
      wakeups.push(t + Math.min(options.consumerResyncMs, 60_000));
    } else if (since + timing.graceMs <= t) revoke(bootstrap.secretId, undefined, "bootstrap");
    else wakeups.push(since + timing.graceMs);
  }

  if (pending?.hasValue) {
    actions.push({ type: "resume", versionName: pending.name });
    return done(undefined, undefined);
  }
  if (pending) revoke(pending.secretId, pending.name, "abandoned");

  // spec.secretName changed: once the new target holds the current secret, the old one goes.
  if (snapshot.target.state === "owned" && snapshot.target.inSync) {
    for (const name of snapshot.staleTargets) actions.push({ type: "deleteStaleTarget", secretName: name });
  }

  if (current && !currentLost) {
    const target = snapshot.target;
    if (target.state === "missing" || !target.inSync || target.secretId !== current.secretId) {
      actions.push({ type: "repairTarget", versionName: current.name });
    }
  }

  const due = dueReason(snapshot, current, currentLost, timing, t);
  if (due) {
    const used = issuerSecrets.length - revoking;
    const max = snapshot.cc.spec.maxSecrets;
    if (used >= max) {
      return done(
        {
          reason: "SlotsExhausted",
          message: `the client has ${used} of at most ${max} secrets at the issuer and none is Rotor's to free (expired or orphaned); Rotor will not mint past the budget. Delete secrets you no longer need, or raise spec.maxSecrets`,
        },
        nextWakeup(wakeups, t),
      );
    }
    actions.push({
      type: "mint",
      reason: due,
      rotateRequest: due === "requested" ? snapshot.cc.rotateRequest : undefined,
    });
    return done(undefined, undefined);
  }

  if (current) wakeups.push(renewalTimeOf(current, timing));
  if (current && snapshot.cc.spec.rollout.strategy !== "None") wakeups.push(t + options.consumerResyncMs);
  return done(undefined, nextWakeup(wakeups, t));
}

function dueReason(
  snapshot: Snapshot,
  current: Version | undefined,
  currentLost: boolean,
  timing: Timing,
  t: number,
): Extract<Action, { type: "mint" }>["reason"] | undefined {
  if (currentLost) return "replace-lost";
  if (!current) return "initial";
  const request = snapshot.cc.rotateRequest;
  if (request !== undefined && request !== "" && request !== lastRotateRequest(snapshot)) return "requested";
  if (Date.parse(current.notAfter) <= t) return "replace-lost";
  if (renewalTimeOf(current, timing) <= t) return "renewal";
  return undefined;
}

function nextWakeup(times: number[], t: number): number | undefined {
  if (times.length === 0) return undefined;
  return Math.max(0, Math.min(...times) - t);
}

function decideDeletion(snapshot: Snapshot, now: Date, options: DecideOptions): Plan {
  if (!snapshot.cc.hasFinalizer)
    return { actions: [], blocker: undefined, requeueAfterMs: undefined, notices: [] };
  if (
    snapshot.cc.spec.deletionPolicy === "Retain" ||
    snapshot.clientId === undefined ||
    snapshot.clientHeldBy
  ) {
    return {
      actions: [{ type: "removeFinalizer" }],
      blocker: undefined,
      requeueAfterMs: undefined,
      notices: [],
    };
  }
  const unreachable = !snapshot.issuer.ok ? snapshot.issuer.message : snapshot.issuerError;
  if (unreachable !== undefined) {
    const deletedAt = Date.parse(snapshot.cc.deletionTimestamp as string);
    const giveUpAt = deletedAt + options.finalizerTimeoutMs;
    if (now.getTime() >= giveUpAt) {
      const left = snapshot.versions.map((v) => v.secretId);
      return {
        actions: [
          {
            type: "removeFinalizer",
            warning: `the issuer stayed unreachable for ${formatDuration(options.finalizerTimeoutMs)} (${unreachable}); secrets ${left.join(", ") || "(unknown)"} of client ${snapshot.clientId} may remain at the issuer and must be revoked there by hand`,
          },
        ],
        blocker: undefined,
        requeueAfterMs: undefined,
        notices: [],
      };
    }
    return {
      actions: [],
      blocker: { reason: "IssuerError", message: `cannot revoke before deletion: ${unreachable}` },
      requeueAfterMs: giveUpAt - now.getTime(),
      notices: [],
    };
  }
  if (snapshot.clientExists === false) {
    return {
      actions: [{ type: "removeFinalizer" }],
      blocker: undefined,
      requeueAfterMs: undefined,
      notices: [],
    };
  }
  const actions: Action[] = [];
  const versionBySecret = new Map(snapshot.versions.map((v) => [v.secretId, v.name]));
  for (const secret of snapshot.issuerSecrets ?? []) {
    const ours =
      versionBySecret.has(secret.id) || parseMarker(secret.description)?.ownerUid === snapshot.cc.uid;
    if (ours)
      actions.push({
        type: "revoke",
        secretId: secret.id,
        versionName: versionBySecret.get(secret.id),
        reason: "deleting",
      });
  }
  if (snapshot.clientOwnedByRotor) actions.push({ type: "deleteClient" });
  actions.push({ type: "removeFinalizer" });
  return { actions, blocker: undefined, requeueAfterMs: undefined, notices: [] };
}
