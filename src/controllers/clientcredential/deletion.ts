/**
 * A ClientCredential being deleted: with deletionPolicy Revoke, every secret Rotor minted for
 * it is revoked (and the client, if Rotor created it for this object, deleted) before the
 * finalizer goes. An issuer that stays unreachable holds the deletion for --finalizer-timeout.
 */
import { formatDuration } from "../../api/duration.ts";
import type { DecideOptions } from "./draft.ts";
import { type Action, type Blocker, type Plan, parseMarker, type Snapshot } from "./model.ts";

const plan = (actions: Action[], blocker?: Blocker, requeueAfterMs?: number): Plan => ({
  actions,
  blocker,
  requeueAfterMs,
  notices: [],
});

export function decideDeletion(snapshot: Snapshot, now: Date, options: DecideOptions): Plan {
  const { cc, clientId, clientHeldBy, clientOwner } = snapshot;
  if (!cc.hasFinalizer) return plan([]);
  const notOurs = Boolean(clientHeldBy) || (clientOwner !== undefined && clientOwner !== cc.uid);
  if (cc.spec.deletionPolicy === "Retain" || clientId === undefined)
    return plan([{ type: "removeFinalizer" }]);

  // Refused by its issuer: Rotor never acted for it there (or may no longer), so there is
  // nothing it can revoke; waiting for --finalizer-timeout would change nothing.
  if (!snapshot.issuer.ok && snapshot.issuer.reason === "IssuerNotAllowed") {
    const left = snapshot.versions.map((v) => v.secretId);
    return plan([
      left.length === 0
        ? { type: "removeFinalizer" }
        : {
            type: "removeFinalizer",
            warning: `the issuer does not allow this ClientCredential any more (${snapshot.issuer.message}); secrets ${left.join(", ")} of client ${clientId} remain at the issuer and must be revoked there by hand`,
          },
    ]);
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
    const left = snapshot.versions.map((v) => v.secretId);
    return plan([
      {
        type: "removeFinalizer",
        warning: `the issuer stayed unreachable for ${formatDuration(options.finalizerTimeoutMs)} (${unreachable}); secrets ${left.join(", ") || "(unknown)"} of client ${clientId} may remain at the issuer and must be revoked there by hand`,
      },
    ]);
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
