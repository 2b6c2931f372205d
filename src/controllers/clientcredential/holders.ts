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

  update(object: ClientCredentialObject, deleted: boolean): void {
    const uid = object.metadata?.uid;
    if (!uid) return;
    const previous = this.claimOf.get(uid);
    if (previous) {
      this.byClient.get(previous)?.delete(uid);
      this.claimOf.delete(uid);
    }
    if (deleted) return;
    const spec = (object.spec ?? {}) as { clientId?: unknown };
    const status = (object.status ?? {}) as { clientId?: unknown };
    const named = typeof spec.clientId === "string" ? spec.clientId : undefined;
    const raw = named ?? (typeof status.clientId === "string" ? status.clientId : undefined);
    if (!raw) return;
    const clientId = raw.toLowerCase();
    const claimants = this.byClient.get(clientId) ?? new Map<string, Claimant>();
    claimants.set(uid, {
      key: `${object.metadata?.namespace}/${object.metadata?.name}`,
      uid,
      createdAt: new Date(object.metadata?.creationTimestamp ?? 0).toISOString(),
      creator: named === undefined,
    });
    this.byClient.set(clientId, claimants);
    this.claimOf.set(uid, clientId);
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
