/**
 * Where the elector keeps its lease: a coordination.k8s.io Lease, read and written with
 * compare-and-swap on its resourceVersion (runtime/leader.ts says why that is enough).
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import { isConflict, isNotFound, makeClient } from "./kube.ts";

/** The lease as stored: its record and the version to compare-and-swap on. */
export interface StoredLease {
  spec: V1LeaseSpec;
  resourceVersion: string;
}

/** The lease as the elector needs it. Writes resolve to the lease they stored (as the answer says). */
export interface LeaseStore {
  read(): Promise<StoredLease | undefined>;
  /** Resolves undefined when someone else wrote first (409). */
  create(spec: V1LeaseSpec): Promise<StoredLease | undefined>;
  replace(spec: V1LeaseSpec, resourceVersion: string): Promise<StoredLease | undefined>;
}

/**
 * The stored lease from an API answer. Without a resourceVersion a later replace would not be a
 * compare-and-swap, so such an answer is an error (the next try reads again).
 */
function stored(lease: V1Lease): StoredLease {
  const resourceVersion = lease.metadata?.resourceVersion;
  if (!resourceVersion) throw new Error("the API server answered with a Lease without a resourceVersion");
  return { spec: lease.spec ?? {}, resourceVersion };
}

/** The Lease `namespace/name` through the Kubernetes API. */
export function kubernetesLease(kc: KubeConfig, namespace: string, name: string): LeaseStore {
  const api = makeClient(kc, CoordinationV1Api, 5000);
  const conflictIsUndefined = (error: unknown) => {
    if (isConflict(error)) return undefined;
    throw error;
  };
  return {
    read: async () => {
      try {
        return stored(await api.readNamespacedLease({ name, namespace }));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    create: (spec) =>
      api
        .createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } })
        .then(stored, conflictIsUndefined),
    replace: (spec, resourceVersion) =>
      api
        .replaceNamespacedLease({
          name,
          namespace,
          body: { metadata: { name, namespace, resourceVersion }, spec },
        })
        .then(stored, conflictIsUndefined),
  };
}
