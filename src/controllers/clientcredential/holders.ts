/**
 * Who holds each client id, cluster-wide: the ClientCredential that created the client or first
 * named it (the oldest claimant). Kept from the ClientCredential informer's events, so a
 * lookup costs no API request and no scan.
 */
import type { ClientCredentialObject } from "./resources.ts";

interface Claimant {
  key: string;
  uid: string;
  createdAt: string;
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
    const raw =
      typeof spec.clientId === "string"
        ? spec.clientId
        : typeof status.clientId === "string"
          ? status.clientId
          : undefined;
    if (!raw) return;
    const clientId = raw.toLowerCase();
    const claimants = this.byClient.get(clientId) ?? new Map<string, Claimant>();
    claimants.set(uid, {
      key: `${object.metadata?.namespace}/${object.metadata?.name}`,
      uid,
      createdAt: new Date(object.metadata?.creationTimestamp ?? 0).toISOString(),
    });
    this.byClient.set(clientId, claimants);
    this.claimOf.set(uid, clientId);
  }

  /** The holder of `clientId` when it is not `self`; undefined when self holds it (or nobody). */
  holderOther(clientId: string, self: { uid: string; creationTimestamp: string }): string | undefined {
    const claimants = [...(this.byClient.get(clientId.toLowerCase())?.values() ?? [])];
    if (!claimants.some((c) => c.uid === self.uid))
      claimants.push({ key: "", uid: self.uid, createdAt: self.creationTimestamp });
    claimants.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.uid.localeCompare(b.uid));
    const holder = claimants[0];
    return holder && holder.uid !== self.uid ? holder.key : undefined;
  }
}
