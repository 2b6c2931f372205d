/**
 * The issuer's side: the embedded issuer's registry (one Secret per client in rotor-system,
 * labelled rotor.dev/embedded-client), followed on a watch. It gives the most secrets a client
 * held at any time, when each superseded secret was revoked, and, at the end, the orphans:
 * secrets at the issuer that no ClientCredential's status knows about.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { OPERATOR_NAMESPACE } from "../../hack/operator/process.ts";
import type { ClientCredentialStatus } from "../../src/api/clientcredential.ts";
import { type ClientRecord, clientSecretName, decodeRecord } from "../../src/issuers/embedded/record.ts";
import { type BenchClient, CC_API, type KubeObject } from "../bench/scale/kube.ts";
import type { Watcher } from "../bench/scale/watch.ts";

export const REGISTRY_PATH = `/api/v1/namespaces/${OPERATOR_NAMESPACE}/secrets?labelSelector=rotor.dev%2Fembedded-client`;

export interface MostSecrets {
  count: number;
  client: string;
  atMs: number;
}

export class Issuer {
  /** The most secrets one client held at once, and which client (its ClientCredential). */
  most: MostSecrets = { count: 0, client: "", atMs: 0 };
  /** When each secret was seen gone from the registry: `clientId/secretId` → ms since the epoch. */
  readonly revokedAt = new Map<string, number>();
  private readonly known = new Map<string, Set<string>>();
  private readonly namespaces: Set<string>;
  private readonly runStart: number;

  constructor(watcher: Watcher, namespaces: string[], runStart: number) {
    this.namespaces = new Set(namespaces);
    this.runStart = runStart;
    watcher.on((object, type) => this.seen(object, type === "DELETED"));
    for (const object of watcher.objects.values()) this.seen(object, false);
  }

  /** This run's record of the client, or undefined (another run's, or not a record). */
  ours(object: KubeObject): ClientRecord | undefined {
    const record = decodeRecord(object as V1Secret);
    return record && this.namespaces.has(record.name.split("/")[0] ?? "") ? record : undefined;
  }

  private seen(object: KubeObject, deleted: boolean): void {
    const record = this.ours(object);
    if (!record) return;
    const ids = new Set(deleted ? [] : record.secrets.map((s) => s.id));
    const before = this.known.get(record.clientId) ?? new Set<string>();
    for (const id of before) if (!ids.has(id)) this.revokedAt.set(`${record.clientId}/${id}`, Date.now());
    this.known.set(record.clientId, ids);
    if (ids.size > this.most.count)
      this.most = { count: ids.size, client: record.name, atMs: Date.now() - this.runStart };
  }
}

export interface Orphan {
  credential: string;
  clientId: string;
  secretId: string;
  /** What the ClientCredential's status said at the second look, to tell why. */
  status: string;
}

/**
 * Secrets at the issuer that no ClientCredential's status lists. A rotation in flight has one
 * for a moment (minted, status not yet written), so a secret counts only when two looks
 * `apartMs` apart both find it unknown.
 */
export async function findOrphans(
  client: BenchClient,
  issuer: Issuer,
  namespaces: string[],
  apartMs = 20_000,
): Promise<Orphan[]> {
  const look = async (): Promise<Map<string, Orphan>> => {
    // The issuer first: a secret minted after this read cannot look orphaned.
    const registry = await client.get<{ items: KubeObject[] }>(REGISTRY_PATH);
    const known = new Map<string, Set<string>>();
    const statuses = new Map<string, string>();
    for (const namespace of namespaces) {
      const list = await client.get<{ items: Array<KubeObject & { status?: ClientCredentialStatus }> }>(
        `${CC_API}/namespaces/${namespace}/clientcredentials`,
      );
      for (const cc of list.items) {
        if (cc.status?.clientId)
          known.set(cc.status.clientId, new Set((cc.status.secrets ?? []).map((s) => s.id)));
        statuses.set(`${namespace}/${cc.metadata.name}`, describe(cc.status));
      }
    }
    const unknown = new Map<string, Orphan>();
    for (const object of registry.items) {
      const record = issuer.ours(object);
      for (const secret of record?.secrets ?? []) {
        if (!record || known.get(record.clientId)?.has(secret.id)) continue;
        unknown.set(`${record.clientId}/${secret.id}`, {
          credential: record.name,
          clientId: record.clientId,
          secretId: secret.id,
          status: statuses.get(record.name) ?? "no such ClientCredential",
        });
      }
    }
    return unknown;
  };
  const first = await look();
  if (first.size === 0) return [];
  await new Promise((resolve) => setTimeout(resolve, apartMs));
  const second = await look();
  const orphans = [...second].filter(([key]) => first.has(key)).map(([, orphan]) => orphan);
  for (const orphan of orphans) orphan.status += `; ${await versionsOf(client, orphan.credential)}`;
  return orphans;
}

/** The credential's version Secrets and target, as Rotor's own record of its secrets. */
async function versionsOf(client: BenchClient, credential: string): Promise<string> {
  const [namespace, name] = credential.split("/") as [string, string];
  const selector = encodeURIComponent(`rotor.dev/client-credential=${name}`);
  const list = await client
    .get<{ items: KubeObject[] }>(`/api/v1/namespaces/${namespace}/secrets?labelSelector=${selector}`)
    .catch(() => ({ items: [] as KubeObject[] }));
  return list.items
    .map((secret) => {
      const a = secret.metadata.annotations ?? {};
      const marks = ["activated-at", "superseded-at", "rolled-out-at"].filter((k) => a[`rotor.dev/${k}`]);
      return `${secret.metadata.name} (secret ${a["rotor.dev/secret-id"]}${marks.length ? `, ${marks.join(", ")}` : ""})`;
    })
    .join(", ");
}

function describe(status: ClientCredentialStatus | undefined): string {
  if (!status) return "no status";
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const secrets = (status.secrets ?? []).map((s) => `${s.id} ${s.state}`).join(", ");
  return `clientId ${status.clientId ?? "-"}, current ${status.currentSecretId ?? "-"}, secrets [${secrets}], Ready ${ready?.status ?? "-"} ${ready?.reason ?? ""}`;
}

/** Whether the issuer holds this value for the client, unexpired at `at`: a fresh read. */
export async function validAt(
  client: BenchClient,
  clientId: string,
  matches: (record: ClientRecord, at: Date) => boolean,
  at: number,
): Promise<boolean> {
  const secret = await client.get<KubeObject>(
    `/api/v1/namespaces/${OPERATOR_NAMESPACE}/secrets/${clientSecretName(clientId)}`,
  );
  const record = decodeRecord(secret as V1Secret);
  return record !== undefined && matches(record, new Date(at));
}
