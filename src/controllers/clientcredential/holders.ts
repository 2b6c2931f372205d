/**
 * Who holds each client id, cluster-wide: the ClientCredential that created the client, else the
 * one that first named it (the oldest claimant). Creation times have whole seconds, so a
 * ClientCredential naming a fresh client in the second it was created must not win a tie
 * against its creator: creators come first. Kept from the ClientCredential informer's events,
 * so a lookup costs no API request and no scan.
 */
import type { ClientCredentialObject } from "./resources.ts";

export interface Claimant {
  key: string;
  uid: string;
  createdAt: string;
  /** Rotor created the client for it (no spec.clientId): it outranks every naming claimant. */
  creator: boolean;
}

export class ClientIdHolders {
  private readonly byClient = new Map<string, Map<string, Claimant>>();
  private readonly claimOf = new Map<string, string>();

  /**
   * Keeps the claims current; when a claim comes, goes or moves, returns the keys of the other
   * claimants of the clients concerned, so that they look again (one of them may hold it now).
   */
  update(object: ClientCredentialObject, deleted: boolean): string[] {
    const uid = object.metadata?.uid;
    if (!uid) return [];
    const before = this.claimOf.get(uid);
    if (before) this.byClient.get(before)?.delete(uid);
    this.claimOf.delete(uid);
    const after = deleted ? undefined : claimedClient(object);
    if (after) {
      const claimants = this.byClient.get(after) ?? new Map<string, Claimant>();
      claimants.set(uid, {
        key: `${object.metadata?.namespace}/${object.metadata?.name}`,
        uid,
        createdAt: new Date(object.metadata?.creationTimestamp ?? 0).toISOString(),
        creator: (object.spec as { clientId?: unknown } | undefined)?.clientId === undefined,
      });
      this.byClient.set(after, claimants);
      this.claimOf.set(uid, after);
    }
    if (before === after) return [];
    return [before, after].flatMap((id) =>
      [...(id ? (this.byClient.get(id)?.values() ?? []) : [])].filter((c) => c.uid !== uid).map((c) => c.key),
    );
  }

  /** The holder of `clientId` when it is not `self`; undefined when self holds it (or nobody). */
  holderOther(clientId: string, self: Omit<Claimant, "key">): string | undefined {
    const claimants = [...(this.byClient.get(clientId.toLowerCase())?.values() ?? [])];
    if (!claimants.some((c) => c.uid === self.uid)) claimants.push({ key: "", ...self });
    claimants.sort(
      (a, b) =>
        Number(b.creator) - Number(a.creator) ||
        a.createdAt.localeCompare(b.createdAt) ||
        a.uid.localeCompare(b.uid),
    );
    const holder = claimants[0];
    return holder && holder.uid !== self.uid ? holder.key : undefined;
  }
}

/**
 * The client a ClientCredential claims (lower case): its spec's, or the one in its status. One
 * that its issuer refuses mints nothing, so it claims nothing: it must not squat the client.
 */
function claimedClient(object: ClientCredentialObject): string | undefined {
  const spec = (object.spec ?? {}) as { clientId?: unknown };
  const status = (object.status ?? {}) as { clientId?: unknown; conditions?: unknown };
  const id = typeof spec.clientId === "string" ? spec.clientId : status.clientId;
  return typeof id === "string" && !refused(status.conditions) ? id.toLowerCase() : undefined;
}

function refused(conditions: unknown): boolean {
  return (
    Array.isArray(conditions) &&
    conditions.some((c) => c?.type === "Ready" && c?.status === "False" && c?.reason === "IssuerNotAllowed")
  );
}
