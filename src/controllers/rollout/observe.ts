/**
 * Finds the consumers of a target Secret: one LIST of the namespace's pods (only while Rotor
 * cares: strategy Restart or Observe), then one GET per distinct owner (ReplicaSet → Deployment,
 * Job → CronJob) and per restartable workload. No cache of every pod in the cluster.
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1ObjectMeta,
  type V1OwnerReference,
} from "@kubernetes/client-node";
import { SECRET_ID } from "../../api/metadata.ts";
import { isNotFound, makeClient } from "../../runtime/kube.ts";
import {
  type ConsumerPod,
  type Consumers,
  podReferencesSecret,
  RESTARTABLE,
  type WorkloadRef,
  type WorkloadState,
  workloadKey,
} from "./consumers.ts";

const controllerOf = (meta: V1ObjectMeta | undefined): V1OwnerReference | undefined =>
  meta?.ownerReferences?.find((ref) => ref.controller);

export class ConsumerObserver {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.core = makeClient(kc, CoreV1Api);
    this.apps = makeClient(kc, AppsV1Api);
    this.batch = makeClient(kc, BatchV1Api);
    this.custom = makeClient(kc, CustomObjectsApi);
  }

  async observe(namespace: string, secretName: string): Promise<Consumers> {
    const list = await this.core.listNamespacedPod({ namespace });
    const owners = new Map<string, Promise<WorkloadRef | undefined>>();
    const pods: ConsumerPod[] = [];
    for (const pod of list.items) {
      const phase = pod.status?.phase;
      // A finished pod runs no container that could still use the secret.
      if (phase === "Succeeded" || phase === "Failed") continue;
      if (!podReferencesSecret(pod, secretName)) continue;
      const workload = await this.workloadOf(namespace, pod.metadata, owners);
      pods.push({
        name: pod.metadata?.name as string,
        createdAt: new Date(pod.metadata?.creationTimestamp ?? 0).getTime(),
        terminating: Boolean(pod.metadata?.deletionTimestamp),
        workload: workload ?? { kind: "Pod", name: pod.metadata?.name as string, apiVersion: "v1" },
      });
    }
    const distinct = new Map(pods.map((p) => [workloadKey(p.workload), p.workload]));
    const workloads: WorkloadState[] = [];
    for (const ref of distinct.values()) workloads.push(await this.stateOf(namespace, ref));
    return { pods, workloads };
  }

  private workloadOf(
    namespace: string,
    meta: V1ObjectMeta | undefined,
    cache: Map<string, Promise<WorkloadRef | undefined>>,
  ): Promise<WorkloadRef | undefined> {
    const owner = controllerOf(meta);
    if (!owner) return Promise.resolve(undefined);
    const key = `${owner.kind}/${owner.name}`;
    let found = cache.get(key);
    if (!found) {
      found = this.resolveOwner(namespace, owner);
      cache.set(key, found);
    }
    return found;
  }

  private async resolveOwner(namespace: string, owner: V1OwnerReference): Promise<WorkloadRef> {
    const self: WorkloadRef = { kind: owner.kind, name: owner.name, apiVersion: owner.apiVersion };
    try {
      if (owner.kind === "ReplicaSet") {
        const rs = await this.apps.readNamespacedReplicaSet({ namespace, name: owner.name });
        const parent = controllerOf(rs.metadata);
        // Deployment, or an Argo Rollout.
        if (parent) return { kind: parent.kind, name: parent.name, apiVersion: parent.apiVersion };
      }
      if (owner.kind === "Job") {
        const job = await this.batch.readNamespacedJob({ namespace, name: owner.name });
        const parent = controllerOf(job.metadata);
        if (parent?.kind === "CronJob")
          return { kind: parent.kind, name: parent.name, apiVersion: parent.apiVersion };
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return self;
  }

  private async stateOf(namespace: string, ref: WorkloadRef): Promise<WorkloadState> {
    const none: WorkloadState = { ref, paused: false, restartedFor: [] };
    if (!RESTARTABLE.has(ref.kind)) return none;
    try {
      if (ref.kind === "Rollout") {
        const rollout = (await this.custom.getNamespacedCustomObject({
          group: "argoproj.io",
          version: "v1alpha1",
          namespace,
          plural: "rollouts",
          name: ref.name,
        })) as { metadata?: { annotations?: Record<string, string> }; spec?: { paused?: boolean } };
        return {
          ref,
          paused: Boolean(rollout.spec?.paused),
          restartedFor: stampedIds(rollout.metadata?.annotations),
        };
      }
      const workload =
        ref.kind === "Deployment"
          ? await this.apps.readNamespacedDeployment({ namespace, name: ref.name })
          : ref.kind === "StatefulSet"
            ? await this.apps.readNamespacedStatefulSet({ namespace, name: ref.name })
            : await this.apps.readNamespacedDaemonSet({ namespace, name: ref.name });
      const paused =
        ref.kind === "Deployment" && Boolean((workload.spec as { paused?: boolean } | undefined)?.paused);
      return { ref, paused, restartedFor: stampedIds(workload.spec?.template?.metadata?.annotations) };
    } catch (error) {
      if (isNotFound(error)) return none;
      throw error;
    }
  }
}

/** The secret ids a workload was last restarted for (Rotor's stamp on it). */
function stampedIds(annotations: Record<string, string> | undefined): string[] {
  return (annotations?.[SECRET_ID] ?? "").split(",").filter(Boolean);
}
