/**
 * The shapes kubectl rotor reads (the parts of Rotor's ClientCredential status, pods and events it
 * shows). Types only: nothing of this file is left in the compiled plugin, which stays one file.
 */

export interface Options {
  command: "status" | "inspect" | "rotate";
  name: string;
  /** Flags for every kubectl call: --namespace, --kubeconfig, --context. */
  kubectl: string[];
}

export type Condition = {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
};
export type SecretEntry = {
  id: string;
  state: string;
  createdAt?: string;
  notAfter?: string;
  supersededAt?: string;
};
export interface ClientCredential {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string };
  spec: {
    secretName?: string;
    issuerRef?: { kind: string; name: string };
    rollout?: { strategy?: string };
    gracePeriod?: string;
  };
  status?: {
    clientId?: string;
    currentSecretId?: string;
    notAfter?: string;
    renewalTime?: string;
    secrets?: SecretEntry[];
    slots?: { used: number; max: number };
    consumers?: { summary: string; pending?: string[] };
    failedAttempts?: number;
    conditions?: Condition[];
  };
}
/** A running pod that references the target Secret, with its workload (`Deployment/api`). */
export type ConsumerPod = { name: string; workload: string; createdAt: string };
export type Event = { time: string; type: string; reason: string; message: string };
export interface Facts {
  cc: ClientCredential;
  /** By secret id: when Rotor saw the rollover away from it complete (its version Secret). */
  rolledOutAt: Map<string, string>;
  /** The secret id the target Secret holds, if there is one. */
  targetSecretId: string | undefined;
  pods: ConsumerPod[];
  events: Event[];
}

export type Ref = { name?: string };
export type Container = { env?: { valueFrom?: { secretKeyRef?: Ref } }[]; envFrom?: { secretRef?: Ref }[] };
export type Volume = { secret?: { secretName?: string }; projected?: { sources?: { secret?: Ref }[] } };
export type PodSpec = { containers?: Container[]; initContainers?: Container[]; volumes?: Volume[] };
export type Owner = { kind: string; name: string; controller?: boolean };
export type Meta = {
  name: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  ownerReferences?: Owner[];
};
export type Pod = { metadata: Meta; spec?: PodSpec; status?: { phase?: string } };

export interface Waiting {
  entry: SecretEntry;
  /** Its rollover is complete: only gracePeriod is left before Rotor revokes it. */
  rolledOutAt: string | undefined;
  /** Pods created up to its switch (second precision, as Rotor counts: the same second is old). */
  pods: ConsumerPod[];
}
