/**
 * The rules that come before any work: each says why Rotor must not touch the issuer for this
 * ClientCredential now (a Blocker), or lets the chain go on.
 */
import type { Draft, Verdict } from "./draft.ts";
import { parseMarker } from "./model.ts";

/**
 * A client another ClientCredential holds, by Rotor's cache of them: Rotor mints nothing for a
 * second holder. (Observe leaves this empty when the issuer records this object as the owner.)
 */
export function clientHeldElsewhere(d: Draft): Verdict {
  const { clientHeldBy, clientId } = d.snapshot;
  if (!clientHeldBy) return;
  giveBack(d);
  return d.block({
    reason: "ClientIdConflict",
    message: `client ${clientId} belongs to ClientCredential ${clientHeldBy}; Rotor mints nothing for a second holder`,
  });
}

/**
 * The issuer records another ClientCredential as the client's owner: whatever this object's
 * namespace holds (a spec naming the client, Secrets claiming it), the client is not its own.
 */
export function clientOwnedByAnother(d: Draft): Verdict {
  const { clientOwner, clientId, cc } = d.snapshot;
  if (clientOwner === undefined || clientOwner === cc.uid) return;
  giveBack(d);
  return d.block({
    reason: "ClientIdConflict",
    message: `client ${clientId} belongs to another ClientCredential (the issuer records its owner); Rotor mints nothing for it here`,
  });
}

/**
 * What this object minted for a client that turned out not to be its own (two ClientCredentials
 * named it before either could see the other) goes: its secrets at the issuer, its versions,
 * and the target Secret that would hand another team's client to this namespace.
 */
function giveBack(d: Draft): void {
  const { issuerSecrets = [], versions, target, secretName, cc } = d.snapshot;
  const versionOf = new Map(versions.map((v) => [v.secretId, v.name]));
  for (const secret of issuerSecrets)
    if (parseMarker(secret.description)?.ownerUid === cc.uid)
      d.revoke(secret.id, versionOf.get(secret.id), "conflict");
  const revoked = new Set(
    d.actions.flatMap((a) => (a.type === "revoke" && a.versionName ? [a.versionName] : [])),
  );
  for (const v of versions)
    if (!revoked.has(v.name))
      d.add({
        type: "deleteVersion",
        versionName: v.name,
        why: "its client belongs to another ClientCredential",
      });
  if (target.state === "owned")
    d.add({ type: "deleteTarget", secretName, why: "its client belongs to another ClientCredential" });
}

export function issuerUnusable(d: Draft): Verdict {
  const { issuer, issuerError } = d.snapshot;
  if (!issuer.ok) return d.block({ reason: issuer.reason, message: issuer.message });
  if (issuerError !== undefined) return d.block({ reason: "IssuerError", message: issuerError });
}

export function targetNotOurs(d: Draft): Verdict {
  if (d.snapshot.target.state !== "foreign") return;
  return d.block({
    reason: "SecretConflict",
    message: `Secret ${d.snapshot.secretName} exists and is not controlled by this ClientCredential; Rotor does not overwrite it. Delete it or choose another spec.secretName`,
  });
}

/** Secrets that pose as versions of another client are never used: said once per reconcile. */
export function foreignVersionsIgnored(d: Draft): Verdict {
  const names = d.snapshot.foreignVersions;
  if (names.length === 0) return;
  d.notice({
    type: "Warning",
    reason: "ForeignVersionIgnored",
    message: `Secret(s) ${names.join(", ")} are labelled as versions of this ClientCredential but name another client than ${d.snapshot.clientId ?? "its own"}; Rotor ignores them. Delete them`,
  });
}

/**
 * A client named in the spec that the issuer does not know: a mistyped id must not create a
 * stray client in someone's tenant (only the embedded issuer creates named clients).
 */
export function namedClientMissing(d: Draft): Verdict {
  const { clientExists, clientOwnedByRotor, issuer, clientId } = d.snapshot;
  if (clientExists !== false || clientOwnedByRotor || !issuer.ok || issuer.createsNamedClients) return;
  return d.block({
    reason: "IssuerError",
    message: `client ${clientId} does not exist at the issuer: check spec.clientId (it is immutable; to use another client, create a new ClientCredential)`,
  });
}
