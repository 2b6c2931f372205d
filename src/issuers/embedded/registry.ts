/**
 * The embedded issuer's registry of clients and secret hashes, kept in Kubernetes: one Secret
 * per client in the operator's namespace, so it survives restarts and leader changes and every
 * replica can read it. Only SHA-256 hashes of the values are stored (each value is 32 random
 * bytes, so a fast hash is enough; no value can be recovered from it).
 *
 * Writes (by the leader) go straight to the API server with compare-and-swap; reads for the
 * token endpoint come from an informer cache, with the leader's own writes applied at once so
 * that a revocation takes effect immediately.
 */
import { CoreV1Api, type KubeConfig, type KubernetesObject, type V1Secret } from "@kubernetes/client-node";
import { atLeast } from "../../runtime/expectations.ts";
import { SupervisedInformer, type Supervision } from "../../runtime/informer.ts";
import { internAll } from "../../runtime/intern.ts";
import { isConflict, isNotFound, makeClient } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { IssuerError, type MintedSecret, type SecretRequest } from "../issuer.ts";
import { addSecret, type ClientRecord, clientSecretName, decodeRecord, encode } from "./record.ts";

const LABEL = "rotor.dev/embedded-client";
const BY_OWNER = "owner-uid";
/** How long this replica's own write stands in for the cache at most. */
const WRITTEN_TTL_MS = 60_000;

/**
 * What the cache keeps of a registry Secret: the decoded record, and what a compare-and-swap
 * writes back unchanged (a Secret's type is immutable; its labels are kept).
 */
interface CachedRecord extends KubernetesObject {
  record: ClientRecord | undefined;
  type: string | undefined;
}

const toCached = (secret: V1Secret): CachedRecord => ({
  metadata: {
    name: secret.metadata?.name,
    namespace: secret.metadata?.namespace,
    resourceVersion: secret.metadata?.resourceVersion,
    labels: secret.metadata?.labels,
  },
  record: internAll(decodeRecord(secret)),
  type: secret.type,
});

type Known = { record: ClientRecord | undefined; resourceVersion: string; stored?: CachedRecord };

export class ClientRegistry {
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly informer: SupervisedInformer<CachedRecord>;
  /** This replica's own writes, until the informer has caught up with them. */
  private readonly written = new Map<string, Known & { at: number }>();
  private prunedAt = 0;

  constructor(kc: KubeConfig, namespace: string, log: Logger, supervision: Supervision) {
    this.core = makeClient(kc, CoreV1Api);
    this.namespace = namespace;
    this.informer = new SupervisedInformer<CachedRecord>({
      name: "embedded-clients",
      kc,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      labelSelector: LABEL,
      transform: (object) => toCached(object as V1Secret),
      log,
      ...supervision,
    });
    this.informer.addIndex(BY_OWNER, (cached) => (cached.record?.ownerUid ? [cached.record.ownerUid] : []));
    this.informer.onEvent((cached, event) => {
      const clientId = cached.record?.clientId;
      const mine = clientId ? this.written.get(clientId) : undefined;
      if (!clientId || !mine) return;
      const caughtUp =
        event === "delete"
          ? mine.record === undefined
          : atLeast(cached.metadata?.resourceVersion, mine.resourceVersion);
      if (caughtUp) this.written.delete(clientId);
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Whether the registry has been loaded once (it may be stale since, during an API outage). */
  get synced(): boolean {
    return this.informer.synced;
  }

  waitForSync(timeoutMs: number): Promise<void> {
    return this.informer.waitForSync(timeoutMs);
  }

  /** The cached record with this replica's writes applied (the token endpoint's and the leader's view). */
  cached(clientId: string): ClientRecord | undefined {
    return this.current(clientId)?.record;
  }

  /** The oldest client recorded as owned by this ClientCredential (with this replica's writes). */
  ownedBy(ownerUid: string): string | undefined {
    const records = [
      ...[...this.written.values()].flatMap((w) => (w.record ? [w.record] : [])),
      ...this.informer.byIndex(BY_OWNER, ownerUid).flatMap((c) => (c.record ? [c.record] : [])),
    ].filter((r) => r.ownerUid === ownerUid && this.cached(r.clientId)?.ownerUid === ownerUid);
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0]?.clientId;
  }

  private current(clientId: string): Known | undefined {
    const mine = this.written.get(clientId);
    if (mine && Date.now() - mine.at < WRITTEN_TTL_MS) return mine;
    const cached = this.informer.get(clientSecretName(clientId), this.namespace);
    return (
      cached && {
        record: cached.record,
        resourceVersion: cached.metadata?.resourceVersion ?? "",
        stored: cached,
      }
    );
  }

  async create(
    clientId: string,
    name: string,
    ownerUid: string,
    first: SecretRequest,
    now: Date,
  ): Promise<MintedSecret> {
    const record: ClientRecord = {
      clientId,
      name,
      ownerUid,
      createdAt: now.toISOString(),
      nextSecretId: 1,
      secrets: [],
    };
    const minted = addSecret(record, first, now);
    try {
      const created = await this.core.createNamespacedSecret({
        namespace: this.namespace,
        body: {
          metadata: {
            name: clientSecretName(clientId),
            labels: { [LABEL]: "true", "app.kubernetes.io/managed-by": "rotor" },
          },
          type: "rotor.dev/embedded-client",
          data: encode(record),
        },
      });
      this.remember(clientId, record, created);
      return minted;
    } catch (error) {
      if (isConflict(error)) throw new IssuerError("ClientExists", `client ${clientId} already exists`);
      throw error;
    }
  }

  async delete(clientId: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ name: clientSecretName(clientId), namespace: this.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.written.set(clientId, { record: undefined, resourceVersion: "", at: Date.now() });
  }

  /**
   * Read-modify-write with compare-and-swap: from the cache (with this replica's writes) first,
   * from the API server after a conflict, so a write costs one request when nobody raced it.
   */
  async update<T>(clientId: string, change: (record: ClientRecord) => T): Promise<T> {
    let known: Known | undefined = this.current(clientId);
    for (let attempt = 0; ; attempt++) {
      if (!known?.record || !known.resourceVersion) known = await this.readLive(clientId);
      const record = known.record;
      if (!record)
        throw new IssuerError("Rejected", `the registry entry of client ${clientId} is unreadable`);
      const copy = structuredClone(record);
      const result = change(copy);
      try {
        const replaced = await this.core.replaceNamespacedSecret({
          name: clientSecretName(clientId),
          namespace: this.namespace,
          body: {
            metadata: {
              name: clientSecretName(clientId),
              namespace: this.namespace,
              resourceVersion: known.resourceVersion,
              labels: known.stored?.metadata?.labels ?? {
                [LABEL]: "true",
                "app.kubernetes.io/managed-by": "rotor",
              },
            },
            type: known.stored?.type ?? "rotor.dev/embedded-client",
            data: encode(copy),
          },
        });
        this.remember(clientId, copy, replaced);
        return result;
      } catch (error) {
        if (isNotFound(error)) throw new IssuerError("ClientNotFound", `client ${clientId} does not exist`);
        if (!isConflict(error) || attempt >= 5) throw error;
        known = undefined;
      }
    }
  }

  private async readLive(clientId: string): Promise<Known> {
    try {
      const secret = await this.core.readNamespacedSecret({
        name: clientSecretName(clientId),
        namespace: this.namespace,
      });
      return {
        record: decodeRecord(secret),
        resourceVersion: secret.metadata?.resourceVersion ?? "",
        stored: toCached(secret),
      };
    } catch (error) {
      if (isNotFound(error)) throw new IssuerError("ClientNotFound", `client ${clientId} does not exist`);
      throw error;
    }
  }

  /**
   * Keeps this replica's write until the cache shows it. The watch may deliver it before the
   * write's answer arrives: then there is nothing to keep. Entries past their minute (a watch
   * event lost) are dropped, so the map stays as small as the writes in flight.
   */
  private remember(clientId: string, record: ClientRecord, stored: V1Secret): void {
    const now = Date.now();
    if (now - this.prunedAt > 10_000) {
      this.prunedAt = now;
      for (const [id, entry] of this.written) if (now - entry.at >= WRITTEN_TTL_MS) this.written.delete(id);
    }
    const cached = this.informer.get(clientSecretName(clientId), this.namespace)?.metadata?.resourceVersion;
    if (atLeast(cached, stored.metadata?.resourceVersion ?? "")) {
      this.written.delete(clientId);
      return;
    }
    this.written.set(clientId, {
      record,
      resourceVersion: stored.metadata?.resourceVersion ?? "",
      stored: toCached(stored),
      at: Date.now(),
    });
  }
}
