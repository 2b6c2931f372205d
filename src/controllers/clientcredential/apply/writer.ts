/**
 * The Kubernetes writes of the ClientCredential controller, behind one small interface so that
 * apply can be tested with a fake. Every write that a retry could repeat is idempotent.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import type { ClientCredentialStatus } from "../../../api/clientcredential.ts";
import { API_VERSION, CLIENT_CREDENTIAL } from "../../../api/group.ts";
import type { GrantedRole } from "../../../api/issuer.ts";
import { ANN_MINT_ID, LABEL_OWNER_UID, SECRET_ID } from "../../../api/metadata.ts";
import { backoffDelay, sleep } from "../../../runtime/backoff.ts";
import type { Expectations, Lookup } from "../../../runtime/expectations.ts";
import {
  FIELD_MANAGER,
  isConflict,
  isNotFound,
  makeClient,
  mergePatch,
  serverSideApply,
} from "../../../runtime/kube.ts";
import { clientCredentialPath, writtenAt } from "../resources.ts";
import { ApplyError } from "./errors.ts";

export interface ObjectKey {
  namespace: string;
  name: string;
}

export interface CredentialWriter {
  /** Compare-and-swap on `resourceVersion`: other controllers' finalizers are kept. */
  setFinalizers(cc: ObjectKey, finalizers: string[], resourceVersion: string | undefined): Promise<void>;
  /** Applies the whole status (server-side apply, Rotor's field manager). */
  writeStatus(cc: ObjectKey, status: ClientCredentialStatus): Promise<void>;
  /** Sets status.clientId and clientRoles alone (a merge patch: the rest of the status stays as written). */
  recordClient(cc: ObjectKey, clientId: string, roles: GrantedRole[] | undefined): Promise<void>;
  /** Creates a version Secret; retried on transient errors, never overwrites. */
  createVersion(secret: V1Secret): Promise<void>;
  annotate(secret: ObjectKey, annotations: Record<string, string>): Promise<void>;
  /** Drops the Secret's owner references (garbage collection keeps it); a Secret gone is fine. */
  release(secret: ObjectKey): Promise<void>;
  /** Idempotent: a Secret that is gone is fine. */
  deleteSecret(secret: ObjectKey): Promise<void>;
  /**
   * Writes the target Secret: created when `create` (never taking over one that appeared
   * meanwhile), else applied. Returns the API server's time of the write.
   */
  writeTarget(target: V1Secret, create: boolean): Promise<string | undefined>;
}

const RETRY = { baseMs: 250, maxMs: 4000 };

/** The caches reconciles read, so that each write is expected there (runtime/expectations.ts). */
export interface WrittenCaches {
  expectations: Expectations;
  credentials: Lookup;
  secrets: Lookup;
}

type Written = { metadata?: { resourceVersion?: string; uid?: string; labels?: Record<string, string> } };
const versionOf = (object: unknown) => (object as Written | undefined)?.metadata?.resourceVersion;

export class KubeWriter implements CredentialWriter {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly caches: WrittenCaches | undefined;

  constructor(kc: KubeConfig, caches?: WrittenCaches) {
    this.core = makeClient(kc, CoreV1Api);
    this.custom = makeClient(kc, CustomObjectsApi);
    this.caches = caches;
  }

  /** Expected in the cache for the ClientCredential's own reconciles (keyed by its uid). */
  private credentialWritten(cc: ObjectKey, answer: unknown): void {
    const { expectations, credentials } = this.caches ?? {};
    const written = versionOf(answer);
    const uid = (answer as Written | undefined)?.metadata?.uid;
    if (expectations && credentials && written && uid)
      expectations.wrote(uid, "ClientCredential", credentials, cc, written);
  }

  /** A Secret of a ClientCredential (its owner-uid label: in the body written, or in the cache). */
  private secretWritten(secret: ObjectKey, answer: unknown, body?: V1Secret): void {
    const { expectations, secrets } = this.caches ?? {};
    if (!expectations || !secrets) return;
    const labels = body?.metadata?.labels ?? secrets(secret.namespace, secret.name)?.metadata?.labels;
    const owner = labels?.[LABEL_OWNER_UID];
    if (owner) expectations.wrote(owner, "Secret", secrets, secret, versionOf(answer));
  }

  /** Whether the stored Secret of this name is `secret` as written: same mint, same secret. */
  private async isOurs(secret: V1Secret): Promise<boolean> {
    const { namespace, name, annotations = {} } = secret.metadata ?? {};
    const stored = await this.core.readNamespacedSecret({
      namespace: namespace as string,
      name: name as string,
    });
    const theirs = stored.metadata?.annotations ?? {};
    const same =
      theirs[ANN_MINT_ID] === annotations[ANN_MINT_ID] && theirs[SECRET_ID] === annotations[SECRET_ID];
    if (same) this.secretWritten({ namespace: namespace as string, name: name as string }, stored, secret);
    return same;
  }

  async setFinalizers(cc: ObjectKey, finalizers: string[], resourceVersion: string | undefined) {
    const answer = await this.custom.patchNamespacedCustomObject(
      {
        ...clientCredentialPath(cc.namespace, cc.name),
        body: { metadata: { finalizers, resourceVersion } },
      },
      mergePatch,
    );
    this.credentialWritten(cc, answer);
  }

  async writeStatus(cc: ObjectKey, status: ClientCredentialStatus) {
    try {
      const answer = await this.custom.patchNamespacedCustomObjectStatus(
        {
          ...clientCredentialPath(cc.namespace, cc.name),
          body: { apiVersion: API_VERSION, kind: CLIENT_CREDENTIAL.kind, metadata: cc, status },
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        serverSideApply,
      );
      this.credentialWritten(cc, answer);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async recordClient(cc: ObjectKey, clientId: string, roles: GrantedRole[] | undefined) {
    const status = { clientId, ...(roles ? { clientRoles: roles } : {}) };
    const answer = await this.custom.patchNamespacedCustomObjectStatus(
      { ...clientCredentialPath(cc.namespace, cc.name), body: { status } },
      mergePatch,
    );
    this.credentialWritten(cc, answer);
  }

  async createVersion(secret: V1Secret) {
    const namespace = secret.metadata?.namespace as string;
    const deadline = performance.now() + 30_000;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.core.createNamespacedSecret({ namespace, body: secret });
        this.secretWritten({ namespace, name: secret.metadata?.name as string }, answer, secret);
        return;
      } catch (error) {
        // An earlier try may have been stored with its answer lost: then the Secret there is
        // this very one (same mint), and the value is kept.
        if (isConflict(error) && attempt > 0 && (await this.isOurs(secret))) return;
        if (isConflict(error) || performance.now() > deadline) throw error;
        await sleep(backoffDelay(RETRY, attempt));
      }
    }
  }

  async annotate(secret: ObjectKey, annotations: Record<string, string>) {
    const answer = await this.core.patchNamespacedSecret(
      { ...secret, body: { metadata: { annotations } } },
      mergePatch,
    );
    this.secretWritten(secret, answer, answer);
  }

  async release(secret: ObjectKey) {
    try {
      const answer = await this.core.patchNamespacedSecret(
        { ...secret, body: { metadata: { ownerReferences: null } } },
        mergePatch,
      );
      this.secretWritten(secret, answer, answer);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async deleteSecret(secret: ObjectKey) {
    const cached = this.caches?.secrets(secret.namespace, secret.name);
    try {
      await this.core.deleteNamespacedSecret(secret);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.secretWritten(secret, undefined, cached as V1Secret | undefined);
  }

  async writeTarget(target: V1Secret, create: boolean) {
    const namespace = target.metadata?.namespace as string;
    const name = target.metadata?.name as string;
    if (create) {
      try {
        const answer = await this.core.createNamespacedSecret({ namespace, body: target });
        this.secretWritten({ namespace, name }, answer, target);
        return writtenAt(answer);
      } catch (error) {
        if (!isConflict(error)) throw error;
        throw new ApplyError(
          "KubernetesError",
          `Secret ${name} appeared while Rotor was writing it; it will be re-examined`,
        );
      }
    }
    const written = await this.core.patchNamespacedSecret(
      { namespace, name, body: target, fieldManager: FIELD_MANAGER, force: true },
      serverSideApply,
    );
    this.secretWritten({ namespace, name }, written, target);
    return writtenAt(written);
  }
}
