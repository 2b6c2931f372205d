/**
 * Where Rotor acts (`--watch-namespaces`): every namespace (the default), or only the listed
 * ones, for the namespace-scoped install (deploy/namespaced/) in which Rotor may touch Secrets,
 * pods and workloads only where a RoleBinding lets it.
 *
 * ClientCredentials are still watched cluster-wide, so that one in a namespace Rotor does not
 * serve is told so (Ready=False, reason NamespaceNotEnabled) instead of waiting in silence; Rotor
 * reads and writes nothing else of it. The Secrets Rotor labelled are watched per listed
 * namespace: a cluster-wide watch would be forbidden there. A listed namespace whose watch is
 * refused (its RoleBinding missing, or deleted by the namespace's admin) is reported the same
 * way and retried; it never makes Rotor unready or restart it, which would stop every namespace.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { setCondition } from "../runtime/conditions.ts";
import type { Reconciler, Result } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { SupervisedInformer } from "../runtime/informer.ts";
import type { Manager } from "../runtime/manager.ts";
import type { CredentialWriter } from "./clientcredential/apply/index.ts";
import { BY_OWNER, type CachedSecret, cacheSecret, ownerUidOf } from "./clientcredential/cached-secret.ts";
import { withProgress } from "./clientcredential/progress.ts";
import {
  type ClientCredentialObject,
  ccReference,
  parseClientCredential,
} from "./clientcredential/resources.ts";

export const NAMESPACE_NOT_ENABLED = "NamespaceNotEnabled";

export interface WatchedSecrets {
  informers: SupervisedInformer<CachedSecret>[];
  /** The cache of this namespace's Secrets (undefined where Rotor does not serve it). */
  of: (namespace: string) => SupervisedInformer<CachedSecret> | undefined;
  /** Whether Rotor's watch of this (served) namespace's Secrets works: its RoleBinding exists. */
  readable: (namespace: string) => boolean;
}

/**
 * Caches of the Secrets matching `labelSelector` — metadata and digests, never values
 * (`cacheSecret`) — indexed by owner: one cluster-wide, or one per namespace.
 */
export function secretInformers(
  manager: Manager,
  kc: KubeConfig,
  namespaces: readonly string[] | undefined,
  labelSelector: string,
): WatchedSecrets {
  const make = (name: string, path: string, optional: boolean) => {
    const informer = manager.informer<CachedSecret>(
      { name, kc, path, labelSelector, transform: cacheSecret },
      { optional },
    );
    informer.addIndex(BY_OWNER, ownerUidOf);
    return informer;
  };
  if (!namespaces) {
    const informer = make("rotor-secrets", "/api/v1/secrets", false);
    return { informers: [informer], of: () => informer, readable: () => true };
  }
  const byNamespace = new Map(
    namespaces.map((namespace) => [
      namespace,
      make(`rotor-secrets/${namespace}`, `/api/v1/namespaces/${namespace}/secrets`, true),
    ]),
  );
  return {
    informers: [...byNamespace.values()],
    of: (namespace) => byNamespace.get(namespace),
    // A cache still filling is not refused: reconciles wait for it (see Observer).
    readable: (namespace) => byNamespace.get(namespace)?.failing === false,
  };
}

/** Why Rotor leaves a ClientCredential alone, in words that say what to change. */
export function notEnabledMessage(namespace: string, listed: boolean): string {
  return listed
    ? `Rotor may not watch Secrets in namespace ${namespace}: ask the cluster administrator to ` +
        `grant Rotor's service account the Role rotor-namespace in ${namespace} ` +
        `(RoleBinding rotor); Rotor looks again every ${RECHECK_MS / 1000}s`
    : `Rotor does not serve namespace ${namespace} (namespace-scoped install): ask the cluster ` +
        `administrator to grant Rotor's service account the Role rotor-namespace in ` +
        `${namespace} (RoleBinding rotor) and add it to the controller's --watch-namespaces`;
}

/** How often a listed namespace whose watch is refused is looked at again. */
const RECHECK_MS = 10_000;

export interface NamespaceGateDeps {
  writer: Pick<CredentialWriter, "writeStatus">;
  events: Pick<EventRecorder, "record">;
  /** See WatchedSecrets. */
  readable: (namespace: string) => boolean;
  /** The ClientCredential from the cache (its status is all the gate writes). */
  get: (namespace: string, name: string) => ClientCredentialObject | undefined;
  clock: () => Date;
}

/**
 * Passes the keys of served namespaces to the ClientCredential reconciler; answers the others
 * itself with the NamespaceNotEnabled condition (written once per generation, with an event).
 */
export class NamespaceGate implements Reconciler {
  private readonly inner: Reconciler;
  private readonly served: ReadonlySet<string> | undefined;
  private readonly deps: NamespaceGateDeps;

  constructor(inner: Reconciler, namespaces: readonly string[] | undefined, deps: NamespaceGateDeps) {
    this.inner = inner;
    this.served = namespaces && new Set(namespaces);
    this.deps = deps;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const [namespace, name] = key.split("/") as [string, string];
    const listed = !this.served || this.served.has(namespace);
    if (listed && this.deps.readable(namespace)) return this.inner.reconcile(key, signal);
    const later = listed ? { requeueAfterMs: RECHECK_MS } : {};
    const object = this.deps.get(namespace, name);
    if (!object?.metadata?.uid) return later;
    const { status } = parseClientCredential(object);
    const generation = object.metadata.generation;
    const message = notEnabledMessage(namespace, listed);
    const now = this.deps.clock();
    const ready = status.conditions?.find((c) => c.type === "Ready");
    if (
      ready?.reason === NAMESPACE_NOT_ENABLED &&
      ready.message === message &&
      ready.observedGeneration === generation
    )
      return later;
    await this.deps.writer.writeStatus(
      { namespace, name },
      {
        ...status,
        observedGeneration: generation,
        conditions: withProgress(
          setCondition(
            status.conditions,
            { type: "Ready", status: "False", reason: NAMESPACE_NOT_ENABLED, message },
            generation,
            now,
          ),
          generation,
          now,
        ),
      },
    );
    this.deps.events.record(
      ccReference({ uid: object.metadata.uid, name, namespace }),
      "Warning",
      NAMESPACE_NOT_ENABLED,
      "Reconcile",
      message,
    );
    return later;
  }
}
