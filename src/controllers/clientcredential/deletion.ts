/**
 * A ClientCredential being deleted: with deletionPolicy Revoke, every secret Rotor minted for
 * it is revoked (and the client, if Rotor created it for this object, deleted) before the
 * finalizer goes. An issuer that stays unreachable holds the deletion for --finalizer-timeout.
 *
 * Whenever secrets stay valid at the issuer (policy Retain, the CRD being deleted, an issuer
 * given up on), the Kubernetes Secrets holding their values stay too: the issuer never shows a
 * value again, and the workloads that read them keep working.
 */
import { formatDuration } from "../../api/duration.ts";
import type { DecideOptions } from "./draft.ts";
import { type Action, type Blocker, type Plan, parseMarker, type Snapshot } from "./model.ts";

const list = (snapshot: Snapshot) => snapshot.versions.map((v) => v.secretId).join(", ");

const plan = (actions: Action[], blocker?: Blocker, requeueAfterMs?: number): Plan => ({
  actions,
  blocker,
  requeueAfterMs,
  notices: [],
});

/** The Secrets that hold this object's values: the target (when Rotor's) and every version. */
function secretsHolding(snapshot: Snapshot): string[] {
  const target = snapshot.target.state === "owned" ? [snapshot.secretName] : [];
  return [...target, ...snapshot.versions.map((v) => v.name)];
}

/** Leaves the issuer alone; keeps the Secrets; then lets the object go. */
function retain(snapshot: Snapshot, why: string, warning?: string): Plan {
  const names = secretsHolding(snapshot);
  return plan([
    ...(names.length > 0 ? [{ type: "keepSecrets", names, why } as const] : []),
    { type: "removeFinalizer", warning },
  ]);
}

export function decideDeletion(snapshot: Snapshot, now: Date, options: DecideOptions): Plan {
  const { cc, clientId, clientHeldBy, clientOwner } = snapshot;
  if (!cc.hasFinalizer) return plan([]);
  const notOurs = Boolean(clientHeldBy) || (clientOwner !== undefined && clientOwner !== cc.uid);
  if (clientId === undefined) return plan([{ type: "removeFinalizer" }]);
  if (cc.spec.deletionPolicy === "Retain") return retain(snapshot, "deletionPolicy is Retain");
  // Deleting the CRD deletes every ClientCredential of every team at once: never read as a wish
  // to revoke them all (an uninstall gone wrong would cut off every workload).
  if (snapshot.definitionDeleting)
    return retain(
      snapshot,
      "the ClientCredential CRD is being deleted",
      `the ClientCredential CRD is being deleted, so deletionPolicy Revoke is not carried out: secrets ${list(snapshot)} of client ${clientId} remain valid at the issuer and in their Secrets; revoke them there by hand if they are no longer wanted`,
    );

  // Refused by its issuer: Rotor never acted for it there (or may no longer), so there is
  // nothing it can revoke; waiting for --finalizer-timeout would change nothing.
  if (!snapshot.issuer.ok && snapshot.issuer.reason === "IssuerNotAllowed") {
    if (snapshot.versions.length === 0) return plan([{ type: "removeFinalizer" }]);
    return retain(
      snapshot,
      "the issuer does not allow this ClientCredential any more",
      `the issuer does not allow this ClientCredential any more (${snapshot.issuer.message}); secrets ${list(snapshot)} of client ${clientId} remain at the issuer and must be revoked there by hand`,
    );
  }
  const unreachable = !snapshot.issuer.ok ? snapshot.issuer.message : snapshot.issuerError;
  if (unreachable !== undefined) {
    const giveUpAt = Date.parse(cc.deletionTimestamp as string) + options.finalizerTimeoutMs;
    if (now.getTime() < giveUpAt)
      return plan(
        [],
        { reason: "IssuerError", message: `cannot revoke before deletion: ${unreachable}` },
        giveUpAt - now.getTime(),
      );
    return retain(
      snapshot,
      "the issuer stayed unreachable",
      `the issuer stayed unreachable for ${formatDuration(options.finalizerTimeoutMs)} (${unreachable}); secrets ${list(snapshot) || "(unknown)"} of client ${clientId} may remain at the issuer and must be revoked there by hand`,
    );
  }
  if (snapshot.clientExists === false) return plan([{ type: "removeFinalizer" }]);

  const actions: Action[] = [];
  const versionBySecret = new Map(snapshot.versions.map((v) => [v.secretId, v.name]));
  for (const secret of snapshot.issuerSecrets ?? []) {
    const ours = versionBySecret.has(secret.id) || parseMarker(secret.description)?.ownerUid === cc.uid;
    if (ours)
      actions.push({
        type: "revoke",
        secretId: secret.id,
        versionName: versionBySecret.get(secret.id),
        reason: "deleting",
      });
  }
  // A client is deleted only when Rotor created it for this very object; a named client it
  // claimed is let go for the next claimant.
  // A client held by another ClientCredential loses only what this one minted.
  if (snapshot.clientOwnedByRotor && !notOurs) actions.push({ type: "deleteClient" });
  else if (clientOwner === cc.uid) actions.push({ type: "releaseClient" });
  actions.push({ type: "removeFinalizer" });
  return plan(actions);
}
