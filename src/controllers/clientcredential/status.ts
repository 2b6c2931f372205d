/** The status Rotor reports: computed from a fresh observation, never stored state. */
import type { ClientCredentialStatus } from "../../api/clientcredential.ts";
import { isoSeconds } from "../../api/duration.ts";
import { type Condition, type ConditionInput, setCondition } from "../../runtime/conditions.ts";
import { rolloutSince, workloadKey } from "../rollout/consumers.ts";
import type { Failure } from "./apply/errors.ts";
import type { Plan, Snapshot } from "./model.ts";
import { withProgress } from "./progress.ts";
import { renewalTimeOf, timingOf } from "./timing.ts";
import { classify, lastRotateRequest } from "./versions.ts";

export interface Failures {
  failedAttempts: number;
  lastFailureTime: string | undefined;
  /** Why the last apply failed, already safe to show. */
  lastError: Failure | undefined;
}

export function computeStatus(
  snapshot: Snapshot,
  plan: Plan,
  now: Date,
  failures: Failures,
): ClientCredentialStatus {
  const { cc } = snapshot;
  const timing = timingOf(cc.spec);
  const { current, pending, superseded } = classify(snapshot.versions);
  const t = now.getTime();
  const blocker = plan.blocker;

  const ready = ((): ConditionInput => {
    const hard =
      blocker && ["ClientIdConflict", "SecretConflict", "IssuerNotAllowed"].includes(blocker.reason);
    if (hard && blocker)
      return { type: "Ready", status: "False", reason: blocker.reason, message: blocker.message };
    const target = snapshot.target;
    const valid = current && Date.parse(current.notAfter) > t;
    if (valid && target.state === "owned" && target.secretId === current.secretId && target.inSync) {
      return {
        type: "Ready",
        status: "True",
        reason: "Issued",
        message: `secret ${current.secretId} is in Secret ${snapshot.secretName}, valid until ${current.notAfter}`,
      };
    }
    if (blocker) return { type: "Ready", status: "False", reason: blocker.reason, message: blocker.message };
    if (failures.lastError)
      return {
        type: "Ready",
        status: "False",
        reason: failures.lastError.reason,
        message: failures.lastError.message,
      };
    return { type: "Ready", status: "False", reason: "Issuing", message: "the first secret is being minted" };
  })();

  const rotating = ((): ConditionInput => {
    const busy =
      pending ||
      plan.actions.some((a) => a.type === "mint" || a.type === "resume" || a.type === "createClient");
    if (blocker?.reason === "SlotsExhausted") {
      return { type: "Rotating", status: "True", reason: "SlotsExhausted", message: blocker.message };
    }
    if (busy || failures.lastError) {
      return {
        type: "Rotating",
        status: "True",
        reason: "Renewing",
        message: failures.lastError?.message ?? "a new secret is being minted, verified or switched to",
      };
    }
    return {
      type: "Rotating",
      status: "False",
      reason: "UpToDate",
      message: current ? `next renewal at ${isoSeconds(renewalTimeOf(current, timing))}` : "no secret yet",
    };
  })();

  const consumers = consumerStatus(snapshot, current?.activatedAt);
  const rolledOut = ((): ConditionInput => {
    if (cc.spec.rollout.strategy === "None") {
      return {
        type: "RolledOut",
        status: "True",
        reason: "NotTracked",
        message:
          "rollout.strategy None: consumers are not waited for; superseded secrets are revoked after gracePeriod",
      };
    }
    const notice = (reason: string) => plan.notices.find((n) => n.reason === reason);
    for (const reason of ["ConsumersOutlivedSecret", "RolloutTimeout"] as const) {
      const found = notice(reason);
      if (found) return { type: "RolledOut", status: "False", reason, message: found.message };
    }
    const waiting = superseded.filter((v) => !v.rolledOutAt);
    if (waiting.length > 0) {
      const paused = notice("RolloutPaused");
      const pending = consumers?.pending?.join(", ");
      return {
        type: "RolledOut",
        status: "False",
        reason: "RolloutPending",
        message: paused
          ? paused.message
          : `waiting for ${pending || "the consumers"} to roll over before secret(s) ${waiting.map((v) => v.secretId).join(", ")} can be revoked`,
      };
    }
    return {
      type: "RolledOut",
      status: "True",
      reason: "RolledOut",
      message: current
        ? `every consumer was started after secret ${current.secretId} was switched to`
        : "no secret yet",
    };
  })();

  let conditions: Condition[] = (cc.status.conditions ?? []) as Condition[];
  for (const condition of [ready, rotating, rolledOut])
    conditions = setCondition(conditions, condition, cc.generation, now);
  conditions = withProgress(conditions, cc.generation, now);

  const secrets = [
    ...superseded.map((v) => ({
      id: v.secretId,
      state: "Superseded" as const,
      createdAt: v.createdAt,
      notAfter: v.notAfter,
      ...(v.supersededAt ? { supersededAt: v.supersededAt } : {}),
      versionSecretName: v.name,
    })),
    ...(current
      ? [
          {
            id: current.secretId,
            state: "Current" as const,
            createdAt: current.createdAt,
            notAfter: current.notAfter,
            versionSecretName: current.name,
          },
        ]
      : []),
  ];
  const rotateRequest = lastRotateRequest(snapshot);
  return {
    observedGeneration: cc.generation,
    ...(snapshot.clientId ? { clientId: snapshot.clientId } : {}),
    // Recorded when the client was created (apply/actions.ts); kept for whoever asks what it got.
    ...(cc.status.clientRoles ? { clientRoles: cc.status.clientRoles } : {}),
    ...(current
      ? {
          currentSecretId: current.secretId,
          notAfter: current.notAfter,
          renewalTime: isoSeconds(renewalTimeOf(current, timing)),
        }
      : {}),
    secrets,
    ...(snapshot.issuerSecrets
      ? { slots: { used: snapshot.issuerSecrets.length, max: cc.spec.maxSecrets } }
      : {}),
    ...(consumers ? { consumers } : {}),
    ...(rotateRequest !== undefined ? { lastRotateRequest: rotateRequest } : {}),
    failedAttempts: failures.failedAttempts,
    ...(failures.lastFailureTime ? { lastFailureTime: failures.lastFailureTime } : {}),
    conditions,
  };
}

/** Workloads consuming the target Secret, and those with pods older than the last switch. */
function consumerStatus(
  snapshot: Snapshot,
  switchedAt: string | undefined,
): ClientCredentialStatus["consumers"] {
  if (snapshot.cc.spec.rollout.strategy === "None") return undefined;
  if (!snapshot.consumers) return snapshot.cc.status.consumers;
  const all = new Set(snapshot.consumers.pods.map((p) => workloadKey(p.workload)));
  const pending = switchedAt
    ? [
        ...new Set(
          rolloutSince(snapshot.consumers, Date.parse(switchedAt)).oldPods.map((p) =>
            workloadKey(p.workload),
          ),
        ),
      ].sort()
    : [];
  const updated = all.size - pending.length;
  return {
    total: all.size,
    updated,
    summary: `${updated}/${all.size}`,
    ...(pending.length ? { pending: pending.slice(0, 20) } : {}),
  };
}
