/**
 * Where Rotor acts (`--watch-namespaces`): every namespace (the default), or only the listed
 * ones, for the namespace-scoped install (deploy/namespaced/) in which Rotor may touch Secrets,
 * pods and workloads only where a RoleBinding lets it.
 *
 * ClientCredentials are still watched cluster-wide, so that one in a namespace Rotor does not
 * serve is told so (Ready=False, reason NamespaceNotEnabled) instead of waiting in silence; Rotor
 * reads and writes nothing else of it. The Secrets Rotor labelled are watched per listed
 * namespace: a cluster-wide watch would be forbidden there.
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { setCondition } from "../runtime/conditions.ts";
import type { Reconciler, Result } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { SupervisedInformer } from "../runtime/informer.ts";
import { makeClient } from "../runtime/kube.ts";
import type { Manager } from "../runtime/manager.ts";
import type { CredentialWriter } from "./clientcredential/apply/index.ts";
import {
  type ClientCredentialObject,
  ccReference,
  parseClientCredential,
} from "./clientcredential/resources.ts";

export const NAMESPACE_NOT_ENABLED = "NamespaceNotEnabled";

/** Informers of the Secrets matching `labelSelector`: one cluster-wide, or one per namespace. */
export function secretInformers(
  manager: Manager,
  kc: KubeConfig,
  namespaces: readonly string[] | undefined,
  labelSelector: string,
): SupervisedInformer<V1Secret>[] {
  const core = makeClient(kc, CoreV1Api);
  if (!namespaces)
    return [
      manager.informer<V1Secret>({
        name: "rotor-secrets",
        kc,
        path: "/api/v1/secrets",
        labelSelector,
        list: () => core.listSecretForAllNamespaces({ labelSelector }),
      }),
    ];
  return namespaces.map((namespace) =>
    manager.informer<V1Secret>({
      name: `rotor-secrets/${namespace}`,
      kc,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      labelSelector,
      list: () => core.listNamespacedSecret({ namespace, labelSelector }),
    }),
  );
}

/** Why Rotor leaves a ClientCredential alone, in words that say what to change. */
export function notEnabledMessage(namespace: string): string {
  return (
    `Rotor does not serve namespace ${namespace} (namespace-scoped install): ask the cluster ` +
    `administrator to bind the ClusterRole rotor-namespace to Rotor's service account in ` +
    `${namespace} and add it to the controller's --watch-namespaces`
  );
}

export interface NamespaceGateDeps {
  writer: Pick<CredentialWriter, "writeStatus">;
  events: Pick<EventRecorder, "record">;
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
    if (!this.served || this.served.has(namespace)) return this.inner.reconcile(key, signal);
    const object = this.deps.get(namespace, name);
    if (!object?.metadata?.uid) return {};
    const { status } = parseClientCredential(object);
    const generation = object.metadata.generation;
    const ready = status.conditions?.find((c) => c.type === "Ready");
    if (ready?.reason === NAMESPACE_NOT_ENABLED && ready.observedGeneration === generation) return {};
    const message = notEnabledMessage(namespace);
    await this.deps.writer.writeStatus(
      { namespace, name },
      {
        ...status,
        conditions: setCondition(
          status.conditions,
          { type: "Ready", status: "False", reason: NAMESPACE_NOT_ENABLED, message },
          generation,
          this.deps.clock(),
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
    return {};
  }
}
