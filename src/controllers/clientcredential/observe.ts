/**
 * Observe: gathers everything `decide` needs, from the caches. A stale cache must never make
 * Rotor mint twice, so a reconcile reads only once the caches show every write Rotor made for
 * this ClientCredential (runtime/expectations.ts); until then it waits. What the caches cannot
 * tell is read from the API server: a target Secret that is not Rotor's (so not in its cache),
 * pods, and values, which no cache holds — apply reads those (`readSecret`) when it needs them.
 * One piece, a little over 300 lines: one pass builds one snapshot, in the order its reads need.
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import type { ClientCredentialSpec } from "../../api/clientcredential.ts";
import { FINALIZER, ROTATE_ANNOTATION } from "../../api/metadata.ts";
import { type Issuer, IssuerError } from "../../issuers/issuer.ts";
import type { DefinitionDeleting } from "../../runtime/definition.ts";
import type { Expectations } from "../../runtime/expectations.ts";
import type { SupervisedInformer } from "../../runtime/informer.ts";
import { isNotFound, makeClient } from "../../runtime/kube.ts";
import { describeError } from "../../runtime/log.ts";
import { ConsumerObserver } from "../rollout/observe.ts";
import { BY_OWNER, type CachedSecret, cacheSecret } from "./cached-secret.ts";
import type { Claimant } from "./holders.ts";
import type { IssuerResolver } from "./issuer-access.ts";
import type { Snapshot, Version } from "./model.ts";
import {
  type ClientCredentialObject,
  isControlledBy,
  isTargetSecret,
  isVersionSecret,
  parseClientCredential,
  sortVersions,
  toVersion,
} from "./resources.ts";
import { selfAuthSecrets } from "./self-auth.ts";
import { targetState } from "./target.ts";

export interface Observation {
  snapshot: Snapshot;
  issuer: Issuer | undefined;
  /** The version Secrets as cached (no values). */
  versionSecrets: Map<string, CachedSecret>;
  /** Reads a Secret of this namespace from the API server, values included: for apply only. */
  readSecret: (name: string) => Promise<V1Secret | undefined>;
  object: ClientCredentialObject;
}

/** A cache cannot reach the API server: retried with backoff, and at once when it is back. */
export const CACHES_FAILING = "the caches are not current";
export type ObserveResult =
  | { found: false }
  /** The caches do not show Rotor's own last writes yet (`waitingFor`), or CACHES_FAILING. */
  | { found: true; stale: string }
  | { found: true; stale?: undefined; invalidSpec: string; object: ClientCredentialObject }
  | ({ found: true; stale?: undefined; invalidSpec?: undefined } & Observation);

/** The caches observe reads. */
export interface ObservedCaches {
  credentials: SupervisedInformer<ClientCredentialObject>;
  /** Rotor's Secrets in a namespace (label-selected, values reduced to digests). */
  secrets: (namespace: string) => SupervisedInformer<CachedSecret> | undefined;
  expectations: Expectations;
}

/** Who else claims a client id (cluster-wide), from the ClientCredential cache. */
export type ClientIdHolders = (clientId: string, self: Omit<Claimant, "key">) => string | undefined;

/** How many other client ids from version Secrets are checked at the issuer, at most. */
const MAX_CLIENT_CANDIDATES = 3;

const sameId = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

export class Observer {
  private readonly core: CoreV1Api;
  private readonly caches: ObservedCaches;
  private readonly resolver: IssuerResolver;
  private readonly holderOf: ClientIdHolders;
  private readonly consumers: ConsumerObserver;
  private readonly definitionDeleting: DefinitionDeleting;

  constructor(
    kc: KubeConfig,
    caches: ObservedCaches,
    resolver: IssuerResolver,
    holderOf: ClientIdHolders,
    definitionDeleting: DefinitionDeleting,
  ) {
    this.consumers = new ConsumerObserver(kc);
    this.definitionDeleting = definitionDeleting;
    this.core = makeClient(kc, CoreV1Api);
    this.caches = caches;
    this.resolver = resolver;
    this.holderOf = holderOf;
  }

  /** Waits (bounded) until the caches show this reconcile's writes for the ClientCredential `uid`. */
  settled(uid: string, timeoutMs: number): Promise<boolean> {
    return this.caches.expectations.settled(uid, timeoutMs);
  }

  async observe(namespace: string, name: string): Promise<ObserveResult> {
    const { credentials, expectations } = this.caches;
    const secrets = this.caches.secrets(namespace);
    if (!credentials.healthy || !secrets?.healthy) return { found: true, stale: CACHES_FAILING };
    const object = credentials.get(name, namespace);
    if (!object) return { found: false };
    const waitingFor = expectations.unmet(object.metadata?.uid as string);
    if (waitingFor) return { found: true, stale: waitingFor };
    const { spec, specError, status } = parseClientCredential(object);
    if (!spec) return { found: true, invalidSpec: specError ?? "invalid spec", object };
    const metadata = object.metadata ?? {};
    const uid = metadata.uid as string;
    const secretName = spec.secretName ?? name;
    const readSecret = (secret: string) => this.readSecret(namespace, secret);

    const owned = secrets.byIndex(BY_OWNER, uid).filter((s) => s.metadata.namespace === namespace);
    // Not in Rotor's cache: missing, or a Secret Rotor did not label (someone else's): ask.
    const targetSecret = secrets.get(secretName, namespace) ?? (await this.readTarget(namespace, secretName));
    const all = owned.filter(isVersionSecret).flatMap((secret) => {
      const version = toVersion(secret, spec.keys.clientSecret);
      return version ? [{ version, secret }] : [];
    });
    const mineOf = (id: string | undefined) => all.filter((v) => sameId(v.version.clientId, id));

    const resolved = await this.resolver.resolve(namespace, spec, async () => {
      const own = mineOf(spec.clientId);
      const ref = spec.bootstrapSecretRef;
      const values = await Promise.all(
        own.map(async (v) => [v.version.name, await readSecret(v.version.name)] as const),
      );
      return selfAuthSecrets(
        spec,
        sortVersions(own.map((v) => v.version)),
        new Map(values.flatMap(([n, secret]) => (secret ? [[n, secret] as const] : []))),
        ref ? await readSecret(ref.name) : undefined,
      );
    });
    const issuer = resolved.ok ? resolved.issuer : undefined;

    const clientId = await this.clientIdOf(uid, spec, status.clientId, all, issuer);
    const versionSecrets = new Map(mineOf(clientId).map((v) => [v.version.name, v.secret]));
    const versions = sortVersions(mineOf(clientId).map((v) => v.version));
    const foreignVersions = all.filter((v) => !versionSecrets.has(v.version.name)).map((v) => v.version.name);

    const created = new Date((metadata.creationTimestamp as unknown as Date | string | undefined) ?? 0);
    const creationTimestamp = Number.isNaN(created.getTime())
      ? new Date(0).toISOString()
      : created.toISOString();

    let clientHeldBy: string | undefined;
    let clientExists: boolean | undefined;
    let clientOwner: string | undefined;
    let issuerSecrets: Snapshot["issuerSecrets"];
    let issuerError: string | undefined;
    if (clientId) {
      try {
        // Where the issuer keeps claims (embedded, from its cache: free), its word on the owner
        // is final; Rotor's cache of ClientCredentials may lag behind two created in one second.
        if (issuer?.recordsClaims) clientOwner = await issuer.clientOwner(clientId);
        if (clientOwner !== uid)
          clientHeldBy = this.holderOf(clientId, {
            uid,
            createdAt: creationTimestamp,
            creator: spec.clientId === undefined,
          });
        // Listed even when another holds the client: what this object minted for it must go.
        if (issuer) {
          issuerSecrets = await issuer.listSecrets(clientId);
          clientExists = true;
          // Elsewhere the owner is asked only where it matters: a client named in the spec, and
          // before a deletion (OCS: the tag Rotor set when it created the client).
          if (!issuer.recordsClaims && (spec.clientId !== undefined || metadata.deletionTimestamp))
            clientOwner = await issuer.clientOwner(clientId);
        }
      } catch (error) {
        if (error instanceof IssuerError && error.kind === "ClientNotFound") clientExists = false;
        else issuerError = describeError(error);
      }
    }

    // Pods are looked at only when Rotor waits for them: strategies Restart and Observe, once a
    // secret was switched to (so superseded secrets may be pending, and consumers are reported).
    const watchConsumers =
      spec.rollout.strategy !== "None" && versions.some((v) => v.activatedAt) && !metadata.deletionTimestamp;
    const consumers = watchConsumers ? await this.consumers.observe(namespace, secretName) : undefined;

    // auth.self: pods still reading the bootstrap Secret keep the bootstrap secret alive. Looked
    // at only while that secret exists at the issuer.
    const bootstrapRef = resolved.ok && resolved.selfAuth ? spec.bootstrapSecretRef : undefined;
    const bootstrap =
      bootstrapRef?.secretId !== undefined && issuerSecrets?.some((s) => s.id === bootstrapRef.secretId)
        ? {
            secretId: bootstrapRef.secretId,
            secretName: bootstrapRef.name,
            consumers: watchConsumers
              ? await this.consumers.observe(namespace, bootstrapRef.name)
              : undefined,
          }
        : undefined;

    const hasFinalizer = (metadata.finalizers ?? []).includes(FINALIZER);
    const revoking = Boolean(metadata.deletionTimestamp) && hasFinalizer && spec.deletionPolicy === "Revoke";
    const snapshot: Snapshot = {
      cc: {
        uid,
        name,
        namespace,
        generation: metadata.generation ?? 0,
        deletionTimestamp: metadata.deletionTimestamp
          ? new Date(metadata.deletionTimestamp).toISOString()
          : undefined,
        hasFinalizer,
        rotateRequest: metadata.annotations?.[ROTATE_ANNOTATION],
        spec,
        status,
      },
      secretName,
      clientId,
      clientOwnedByRotor: spec.clientId === undefined,
      clientOwner,
      issuerRecordsClaims: issuer?.recordsClaims ?? false,
      bootstrap,
      clientHeldBy,
      issuer: resolved.ok
        ? {
            ok: true,
            tokenUrl: resolved.issuer.tokenUrl,
            caBundle: resolved.issuer.caBundle,
            maxDescriptionLength: resolved.issuer.maxDescriptionLength,
            createsNamedClients: resolved.issuer.createsNamedClients,
          }
        : resolved,
      clientExists,
      issuerSecrets,
      issuerError,
      target: targetState(
        targetSecret,
        { uid, name, namespace },
        spec,
        secretName,
        versionSecrets,
        clientId,
        resolved.ok ? resolved.issuer.tokenUrl : undefined,
        resolved.ok ? resolved.issuer.caBundle : undefined,
        resolved.ok ? resolved.issuer.clientPerSecret : undefined,
      ),
      versions,
      foreignVersions,
      consumers,
      // A target Secret left behind under an earlier spec.secretName.
      staleTargets: owned
        .filter((s) => isTargetSecret(s) && s.metadata.name !== secretName && isControlledBy(s, uid))
        .map((s) => s.metadata.name as string),
      // Unknown is never taken for "no": a failed read fails the reconcile, nothing is revoked.
      definitionDeleting: revoking && (await this.definitionDeleting()),
    };
    return { found: true, snapshot, issuer, versionSecrets, readSecret, object };
  }

  /**
   * The client id: the spec's, or the one Rotor chose and recorded in status (a subresource
   * tenants cannot write). A Secret's word is never taken: whoever writes Secrets in the
   * namespace could forge one. Only where version Secrets name another client than status (a
   * status lost or written by someone else) does the issuer decide: a client counts when the
   * issuer records this very ClientCredential as its owner.
   */
  private async clientIdOf(
    uid: string,
    spec: ClientCredentialSpec,
    recorded: string | undefined,
    all: Array<{ version: Version }>,
    issuer: Issuer | undefined,
  ): Promise<string | undefined> {
    if (spec.clientId) return spec.clientId;
    const others = [
      ...new Set(
        all.flatMap(({ version }) =>
          version.clientId && !sameId(version.clientId, recorded) ? [version.clientId] : [],
        ),
      ),
    ];
    if (!issuer) return recorded;
    // Created by Rotor, its id not recorded yet (the issuer records the owner): ask the issuer.
    if (others.length === 0) return recorded ?? issuer.clientOwnedBy?.(uid);
    const owned = async (id: string) => (await issuer.clientOwner(id).catch(() => undefined)) === uid;
    if (recorded && (await owned(recorded))) return recorded;
    // A few at most: forged Secrets must not turn into a flood of requests to the issuer.
    for (const id of others.slice(0, MAX_CLIENT_CANDIDATES)) if (await owned(id)) return id;
    return recorded;
  }

  /** The target Secret as the cache would hold it (the value read is not kept). */
  private async readTarget(namespace: string, name: string): Promise<CachedSecret | undefined> {
    const secret = await this.readSecret(namespace, name);
    return secret && cacheSecret(secret);
  }

  private async readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
