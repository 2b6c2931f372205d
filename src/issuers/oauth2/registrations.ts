/**
 * Where the clients Rotor registered for each ClientCredential are recorded, with what deleting
 * them takes: one Secret per client group (the ClientCredential's status.clientId) in ROTOR's
 * namespace, `rotor-oauth2-<group>`. A registration access token lets its holder rewrite the
 * client (RFC 7592 PUT: its scope, audience, grant types), so it is never in the team's
 * namespace: only Rotor (and whoever may read Secrets in Rotor's namespace) can read it.
 *
 * Each entry is a client that is registered, or an intent to register one whose answer has not
 * been recorded yet (written before the registration is sent: after a crash or a lost answer,
 * the intent says a client of that name may exist). Writes are compare-and-swap on the
 * Secret's resourceVersion; nothing is cached beyond one call.
 */
import { createHash } from "node:crypto";
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { z } from "zod";
import { GROUP } from "../../api/group.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../../api/metadata.ts";
import { isConflict, isNotFound, makeClient } from "../../runtime/kube.ts";
import { IssuerError } from "../issuer.ts";

export const LABEL_OWNER = `${GROUP}/owner-uid`;
export const LABEL_ISSUER = `${GROUP}/issuer`;
const DATA_KEY = "registrations.json";
const SECRET_TYPE = `${GROUP}/oauth2-registrations`;
/** Compare-and-swap attempts before a write gives up (every conflict is another writer's success). */
const MAX_WRITES = 6;

const registered = z.object({
  state: z.literal("registered"),
  clientId: z.string(),
  registrationClientUri: z.string(),
  registrationAccessToken: z.string(),
  clientName: z.string(),
  expiration: z.string(),
});
const unconfirmed = z.object({
  state: z.literal("unconfirmed"),
  nonce: z.string(),
  clientName: z.string(),
  since: z.string(),
});
const record = z.object({ entries: z.array(z.discriminatedUnion("state", [registered, unconfirmed])) });

export type Entry = z.infer<typeof registered> | z.infer<typeof unconfirmed>;
export type RegisteredEntry = z.infer<typeof registered>;

export interface Group {
  entries: Entry[];
  /** The uid of the ClientCredential the group was created for. */
  ownerUid: string | undefined;
}

/** The label value that says which issuer object a group belongs to: a short hash of its key. */
export const issuerLabel = (issuerKey: string): string =>
  createHash("sha256").update(issuerKey).digest("hex").slice(0, 16);

/** A group id as it names a Secret; undefined for one that cannot (and so has no group). */
export function groupSecretName(groupId: string): string | undefined {
  const id = groupId.toLowerCase();
  return /^[a-z0-9]([a-z0-9-]{0,198}[a-z0-9])?$/.test(id) ? `rotor-oauth2-${id}` : undefined;
}

export class RegistrationStore {
  private readonly core: CoreV1Api;
  readonly namespace: string;

  /** `namespace`: Rotor's own. */
  constructor(kc: KubeConfig, namespace: string) {
    this.core = makeClient(kc, CoreV1Api);
    this.namespace = namespace;
  }

  /** `namespace/name` of a group's Secret, for messages. */
  where(groupId: string): string {
    return `${this.namespace}/${groupSecretName(groupId) ?? "(none)"}`;
  }

  async read(groupId: string): Promise<Group | undefined> {
    const secret = await this.readSecret(groupId);
    return (
      secret && { entries: this.decode(secret, groupId), ownerUid: secret.metadata?.labels?.[LABEL_OWNER] }
    );
  }

  /**
   * Creates the group's Secret, empty; when it exists already, says whose it is (the caller
   * decides whether that is a conflict).
   */
  async create(
    groupId: string,
    ownerUid: string,
    issuerKey: string,
  ): Promise<{ created: boolean; ownerUid?: string }> {
    const name = this.nameOf(groupId);
    try {
      await this.core.createNamespacedSecret({
        namespace: this.namespace,
        body: {
          metadata: {
            name,
            labels: {
              [LABEL_MANAGED_BY]: MANAGED_BY,
              [LABEL_OWNER]: ownerUid,
              [LABEL_ISSUER]: issuerLabel(issuerKey),
            },
          },
          type: SECRET_TYPE,
          data: encode([]),
        },
      });
      return { created: true, ownerUid };
    } catch (error) {
      if (!isConflict(error)) throw error;
      const existing = await this.readSecret(groupId);
      return { created: false, ownerUid: existing?.metadata?.labels?.[LABEL_OWNER] };
    }
  }

  /**
   * Read-modify-write of the group's entries with compare-and-swap: `change` edits a fresh copy
   * and may be called again after a conflict. IssuerError ClientNotFound when the group is gone.
   */
  async update<T>(groupId: string, change: (entries: Entry[]) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const secret = await this.readSecret(groupId);
      if (!secret) throw this.notFound(groupId);
      const entries = this.decode(secret, groupId);
      const result = change(entries);
      try {
        await this.core.replaceNamespacedSecret({
          name: this.nameOf(groupId),
          namespace: this.namespace,
          body: { ...secret, data: encode(entries) },
        });
        return result;
      } catch (error) {
        if (isNotFound(error)) throw this.notFound(groupId);
        if (!isConflict(error) || attempt >= MAX_WRITES) throw error;
      }
    }
  }

  async delete(groupId: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ name: this.nameOf(groupId), namespace: this.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  notFound(groupId: string): IssuerError {
    return new IssuerError(
      "ClientNotFound",
      `no clients are registered for ${groupId}: Rotor's record of them (Secret ${this.where(groupId)}) does not exist`,
    );
  }

  private nameOf(groupId: string): string {
    const name = groupSecretName(groupId);
    if (!name)
      throw new IssuerError(
        "Rejected",
        `"${groupId}" cannot name a client group: use lower-case letters, digits and dashes (Rotor chooses a GUID when spec.clientId is not set)`,
      );
    return name;
  }

  private async readSecret(groupId: string): Promise<V1Secret | undefined> {
    const name = groupSecretName(groupId);
    if (!name) return undefined;
    try {
      return await this.core.readNamespacedSecret({ name, namespace: this.namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private decode(secret: V1Secret, groupId: string): Entry[] {
    const raw = secret.data?.[DATA_KEY];
    if (raw === undefined) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(raw, "base64").toString("utf8"));
    } catch {
      parsed = undefined;
    }
    const result = record.safeParse(parsed);
    if (!result.success)
      throw new IssuerError(
        "Rejected",
        `Rotor's record of the clients of ${groupId} (Secret ${this.where(groupId)}, key ${DATA_KEY}) is unreadable: restore it, or delete the clients it named at the server and then the Secret`,
      );
    return result.data.entries;
  }
}

function encode(entries: Entry[]): Record<string, string> {
  return { [DATA_KEY]: Buffer.from(JSON.stringify({ entries }), "utf8").toString("base64") };
}
