/**
 * The rules that come before any work: each says why Rotor must not touch the issuer for this
 * ClientCredential now (a Blocker), or lets the chain go on.
 */
import type { Draft, Verdict } from "./draft.ts";

/**
 * A client another ClientCredential holds, by Rotor's cache of them: Rotor mints nothing for a
 * second holder. (Observe leaves this empty when the issuer records this object as the owner.)
 */
export function clientHeldElsewhere(d: Draft): Verdict {
  const { clientHeldBy, clientId } = d.snapshot;
  if (!clientHeldBy) return;
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
  return d.block({
    reason: "ClientIdConflict",
    message: `client ${clientId} belongs to another ClientCredential (the issuer records its owner); Rotor mints nothing for it here`,
  });
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
