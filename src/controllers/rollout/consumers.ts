/**
 * Consumers of a Secret: the pods that reference it (env `secretKeyRef`, `envFrom`, `secret`
 * volumes and `projected` volume sources), grouped by the workload that owns them. Pure: the
 * pods and owner chain are gathered elsewhere.
 */
import type { V1Container, V1Pod } from "@kubernetes/client-node";

export function podReferencesSecret(pod: V1Pod, secretName: string): boolean {
  const spec = pod.spec;
  if (!spec) return false;
  const containers: V1Container[] = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  for (const container of containers) {
    if (container.env?.some((e) => e.valueFrom?.secretKeyRef?.name === secretName)) return true;
    if (container.envFrom?.some((e) => e.secretRef?.name === secretName)) return true;
  }
  for (const container of spec.ephemeralContainers ?? []) {
    if (container.env?.some((e) => e.valueFrom?.secretKeyRef?.name === secretName)) return true;
    if (container.envFrom?.some((e) => e.secretRef?.name === secretName)) return true;
  }
  for (const volume of spec.volumes ?? []) {
    if (volume.secret?.secretName === secretName) return true;
    if (volume.projected?.sources?.some((s) => s.secret?.name === secretName)) return true;
  }
  return false;
}

/** A workload as Kind/name, the way users name it (`Deployment/ingest`). */
export interface WorkloadRef {
  kind: string;
  name: string;
  apiVersion: string;
}

export const workloadKey = (w: WorkloadRef) => `${w.kind}/${w.name}`;

export interface ConsumerPod {
  name: string;
  createdAt: number;
  terminating: boolean;
  workload: WorkloadRef;
}

/** Kinds whose pod template Rotor may stamp to restart them. */
export const RESTARTABLE = new Set(["Deployment", "StatefulSet", "DaemonSet", "Rollout"]);

export interface WorkloadState {
  ref: WorkloadRef;
  paused: boolean;
  /**
   * The secret ids Rotor last restarted it for (its `rotor.dev/secret-id` stamp): compared by id,
   * not by time, so no clock of Rotor's meets a clock of the API server's.
   */
  restartedFor: string[];
}

export interface Consumers {
  pods: ConsumerPod[];
  workloads: WorkloadState[];
}

export interface RolloutView {
  /** Pods that may still hold a secret superseded at `switchedAt`. */
  oldPods: ConsumerPod[];
  /** Workloads that own old pods. */
  pendingWorkloads: WorkloadState[];
}

export function rolloutSince(consumers: Consumers, switchedAt: number): RolloutView {
  // Pod creation times have second precision: a pod created in the same second as the switch
  // may have read the old value, so it counts as old.
  const oldPods = consumers.pods.filter((p) => p.createdAt <= switchedAt);
  const pendingKeys = new Set(oldPods.map((p) => workloadKey(p.workload)));
  return {
    oldPods,
    pendingWorkloads: consumers.workloads.filter((w) => pendingKeys.has(workloadKey(w.ref))),
  };
}
