/**
 * Every event the ClientCredential controller records while carrying out a plan, in one place:
 * the reason users filter on, the action, and a sentence that says what happened and why.
 */
import type { GrantedRole } from "../../../api/issuer.ts";
import { describeRoles } from "../../../issuers/issuer.ts";
import type { Action, RevokeReason } from "../model.ts";

export interface Note {
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  message: string;
}

const normal = (reason: string, action: string, message: string): Note => ({
  type: "Normal",
  reason,
  action,
  message,
});
const warning = (reason: string, action: string, message: string): Note => ({
  type: "Warning",
  reason,
  action,
  message,
});

const REVOKE_WHY: Record<RevokeReason, string> = {
  orphan: "an orphan: minted by Rotor, but its value was never stored",
  expired: "expired",
  superseded: "superseded, grace period over",
  abandoned: "never switched to",
  deleting: "the ClientCredential is being deleted",
  bootstrap: "the bootstrap secret, replaced by Rotor's own",
  conflict: "minted for a client another ClientCredential holds",
};

export const notes = {
  revocationAbandoned: (why: string) => warning("RevocationAbandoned", "Delete", why),
  revocationUncertain: (secretId: string, why: string) =>
    warning("RevocationUncertain", "Revoke", `Dropped secret ${secretId}, but ${why}`),
  secretsKept: (names: string[], why: string) =>
    normal(
      "SecretsKept",
      "Delete",
      `Kept Secrets ${names.join(", ")} (no longer owned by this object): ${why}`,
    ),
  clientCreated: (clientId: string, roles?: GrantedRole[]) =>
    normal(
      "ClientCreated",
      "Create",
      `Created client ${clientId} at the issuer${roles ? ` with roles ${describeRoles(roles)}` : ""}`,
    ),
  clientDeleted: (clientId: string) =>
    normal("ClientDeleted", "Delete", `Deleted client ${clientId} at the issuer`),
  revoked: (secretId: string, reason: RevokeReason) =>
    normal("Revoked", "Revoke", `Revoked secret ${secretId} (${REVOKE_WHY[reason]})`),
  versionDeleted: (versionName: string, why: string) =>
    normal("VersionDeleted", "Delete", `Deleted version Secret ${versionName}: ${why}`),
  versionRestored: (action: Extract<Action, { type: "restoreVersion" }>, versionName: string) =>
    warning(
      "VersionRestored",
      "Update",
      `Secret ${action.secretId} is live but its version Secret was missing; wrote ${versionName} again ${
        action.valueFromTarget ? "from the target Secret" : "without its value, to wait for the rollover"
      }. Rotor never revokes a live secret as an orphan`,
    ),
  rolledOut: (versionName: string, gracePeriod: string) =>
    normal(
      "RolledOut",
      "Rollout",
      `No pod that may hold the secret of ${versionName} is left; it is revoked after gracePeriod ${gracePeriod}`,
    ),
  restarted: (what: string, secretId: string) =>
    normal("RolloutRestarted", "Restart", `Restarted ${what} so that its pods pick up secret ${secretId}`),
  restartFailed: (what: string, error: string) =>
    warning("RolloutRestartFailed", "Restart", `Could not restart ${what}: ${error}`),
  targetDeleted: (secretName: string, why: string) =>
    normal("TargetDeleted", "Delete", `Deleted Secret ${secretName}: ${why}`),
  targetRestored: (secretName: string, versionName: string, secretId: string) =>
    normal(
      "TargetRestored",
      "Update",
      `Wrote Secret ${secretName} from version Secret ${versionName} (secret ${secretId}); nothing minted`,
    ),
  verificationPending: (secretId: string, failure: string) =>
    warning(
      "VerificationFailed",
      "Verify",
      `The token endpoint did not accept new secret ${secretId} yet (${failure}); Rotor keeps the current secret, keeps the new one and tries again with backoff`,
    ),
  /** One event for a new client and its first secret (the client's own is recorded only if the switch fails). */
  switched: (
    reason: "Issued" | "Rotated" | "IssuedToNewClient",
    secretId: string,
    notAfter: string,
    secretName: string,
    clientId: string,
  ) =>
    normal(
      reason === "Rotated" ? "Rotated" : "Issued",
      reason === "Rotated" ? "Rotate" : "Issue",
      `${reason === "IssuedToNewClient" ? `Created client ${clientId} at the issuer and issued` : reason === "Issued" ? "Issued" : "Rotated to"} secret ${secretId} (expires ${notAfter}); verified at the token endpoint and written to Secret ${secretName}`,
    ),
};
