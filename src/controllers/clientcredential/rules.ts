/**
 * The lifecycle rules of `decide`, in the order they run: create or claim the client, keep live
 * secrets' versions, revoke what nobody can hold, finish an interrupted switch, keep the target
 * Secret right, and mint when a secret is due. The rollover gate is in `rollover.ts`.
 */
import type { Draft, Verdict } from "./draft.ts";
import { type Action, parseMarker, type SecretPlan } from "./model.ts";
import { consumerResyncAt } from "./rollover.ts";
import { expiryOf, renewalTimeOf } from "./timing.ts";
import { lastRotateRequest } from "./versions.ts";

const secretPlan = (d: Draft): SecretPlan => ({
  expiration: expiryOf(d.t, d.timing),
  description: d.snapshot.cc.spec.description,
});

/** No client yet (or it vanished at the issuer): create it with its first secret. */
export function clientMissing(d: Draft): Verdict {
  const { clientId, clientExists, versions, cc } = d.snapshot;
  if (clientId !== undefined && clientExists !== false) return;
  // Versions of a vanished client hold secrets that no longer exist.
  for (const v of versions)
    d.add({ type: "deleteVersion", versionName: v.name, why: "its client no longer exists at the issuer" });
  d.add({
    type: "createClient",
    clientId,
    name: cc.spec.clientName ?? `${cc.namespace}/${cc.name}`,
    roleIds: cc.spec.roleIds ?? [],
    firstSecret: secretPlan(d),
  });
  return d.settle();
}

/**
 * A client with no owner recorded at an issuer that can record one: claimed (compare-and-swap)
 * before anything is minted, so a second ClientCredential naming it loses at the issuer even
 * when Rotor's cache has not seen it yet.
 */
export function claimUnrecordedClient(d: Draft): Verdict {
  if (d.snapshot.issuerRecordsClaims && d.snapshot.clientOwner === undefined) d.add({ type: "claimClient" });
}

/**
 * Secrets that are live — the target Secret holds them, or status lists them — but have lost
 * their version Secret (deleted, relabelled) are written back, never revoked as orphans: pods
 * may use them. The value comes from the target Secret where it holds it; otherwise the version
 * carries no value and waits for the rollover as a superseded secret.
 */
export function lostVersions(d: Draft): Verdict {
  const { issuerSecrets = [], target, cc } = d.snapshot;
  const { current } = d.versions;
  const inTarget = target.state === "owned" ? target.secretId : undefined;
  const listed = new Map((cc.status.secrets ?? []).map((s) => [s.id, s]));
  const now = new Date(d.t).toISOString();
  let restored = false;
  for (const secret of issuerSecrets) {
    // Only Rotor's own secrets: a forged target annotation must not make Rotor adopt (and later
    // revoke) a secret someone else issued.
    if (d.inVersions.has(secret.id) || parseMarker(secret.description)?.ownerUid !== cc.uid) continue;
    const status = listed.get(secret.id);
    const held = secret.id === inTarget;
    if (!held && !status) continue;
    // With a current version in place, the lost one is older: superseded, never current again.
    const isCurrent = held && !current;
    d.add({
      type: "restoreVersion",
      secretId: secret.id,
      notAfter: secret.expiration,
      createdAt: status?.createdAt ?? (current ? isoBefore(current.createdAt) : now),
      activatedAt: status?.createdAt ?? now,
      supersededAt: isCurrent
        ? undefined
        : (status?.supersededAt ?? (target.state === "owned" && !held ? target.writtenAt : undefined) ?? now),
      valueFromTarget: held && target.state === "owned" && target.hasValue,
    });
    restored = true;
  }
  // Nothing else this round: the next one sees the restored versions and decides from them.
  if (restored) return d.settle();
}

const isoBefore = (time: string) => new Date(Date.parse(time) - 1000).toISOString();

/**
 * Rotor's own secrets that have no version Secret and are nowhere live: minted, never
 * persisted (a crash in between). Their value is lost for good, so nobody can hold them.
 */
export function orphans(d: Draft): Verdict {
  for (const secret of d.snapshot.issuerSecrets ?? []) {
    if (parseMarker(secret.description)?.ownerUid === d.snapshot.cc.uid && !d.inVersions.has(secret.id))
      d.revoke(secret.id, undefined, "orphan");
  }
}

export function abandoned(d: Draft): Verdict {
  for (const v of d.versions.abandoned) d.revoke(v.secretId, v.name, "abandoned");
}

/** A version persisted but not switched to (a crash, a failed verification): finish the switch. */
export function pendingSwitch(d: Draft): Verdict {
  const { pending } = d.versions;
  if (!pending) return;
  if (pending.hasValue) {
    d.add({ type: "resume", versionName: pending.name });
    return d.settle();
  }
  d.revoke(pending.secretId, pending.name, "abandoned");
}

/** spec.secretName changed: once the new target holds the current secret, the old one goes. */
export function staleTargets(d: Draft): Verdict {
  const { target, staleTargets } = d.snapshot;
  if (target.state !== "owned" || !target.inSync) return;
  for (const name of staleTargets)
    d.add({ type: "deleteTarget", secretName: name, why: `spec.secretName is now ${d.snapshot.secretName}` });
}

/** A deleted or edited target Secret is written again from the current version: nothing minted. */
export function targetDrift(d: Draft): Verdict {
  const { current } = d.versions;
  const { target } = d.snapshot;
  if (!current || currentLost(d)) return;
  if (
    target.state === "missing" ||
    (target.state === "owned" && (!target.inSync || target.secretId !== current.secretId))
  )
    d.add({ type: "repairTarget", versionName: current.name });
}

/** A current secret gone from the issuer (revoked by someone else), or without its value. */
function currentLost(d: Draft): boolean {
  const { current } = d.versions;
  return current !== undefined && (!d.atIssuer.has(current.secretId) || !current.hasValue);
}

type MintReason = Extract<Action, { type: "mint" }>["reason"];

function dueReason(d: Draft): MintReason | undefined {
  const { current } = d.versions;
  if (currentLost(d)) return "replace-lost";
  if (!current) return "initial";
  const request = d.snapshot.cc.rotateRequest;
  if (request !== undefined && request !== "" && request !== lastRotateRequest(d.snapshot))
    return "requested";
  if (Date.parse(current.notAfter) <= d.t) return "replace-lost";
  if (renewalTimeOf(current, d.timing) <= d.t) return "renewal";
  return undefined;
}

/** Mints when a secret is due, within the budget of secrets the client may hold. */
export function mintDue(d: Draft): Verdict {
  const due = dueReason(d);
  const { current } = d.versions;
  const { cc } = d.snapshot;
  if (!due) {
    if (current) d.wakeAt(renewalTimeOf(current, d.timing));
    // status.consumers is counted only where a strategy waits for consumers, and only once a
    // secret was switched to (as observe lists pods): nothing else to resync.
    if (current && cc.spec.rollout.strategy !== "None")
      d.wakeAt(consumerResyncAt(d, d.options.consumerResyncMs));
    return "stop";
  }
  const used = (d.snapshot.issuerSecrets ?? []).length - d.revoking;
  const max = cc.spec.maxSecrets;
  if (used >= max) {
    return d.block({
      reason: "SlotsExhausted",
      message: `the client has ${used} of at most ${max} secrets at the issuer and none is Rotor's to free (expired or orphaned); Rotor will not mint past the budget. Delete secrets you no longer need, or raise spec.maxSecrets`,
    });
  }
  d.add({
    type: "mint",
    reason: due,
    rotateRequest: due === "requested" ? cc.rotateRequest : undefined,
    secret: secretPlan(d),
  });
  return d.settle();
}
