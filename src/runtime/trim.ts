/**
 * What an informer keeps of an object by default: trimmed metadata, repeated strings interned
 * (runtime/intern.ts). Managed fields and kubectl's last-applied copy (as large as the object)
 * are what no reader needs.
 */
import type { KubernetesObject, V1ObjectMeta } from "@kubernetes/client-node";
import { intern, internAll } from "./intern.ts";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The metadata a controller reads, with repeated strings interned: without field managers,
 * kubectl's last applied copy (as large as the object), and anything else no reader needs.
 */
export function trimMetadata(metadata: V1ObjectMeta = {}): V1ObjectMeta {
  const { [LAST_APPLIED]: _l, ...annotations } = metadata.annotations ?? {};
  const time = (value: unknown) => (value ? new Date(value as string) : undefined);
  return {
    name: intern(metadata.name ?? ""),
    namespace: metadata.namespace && intern(metadata.namespace),
    uid: metadata.uid && intern(metadata.uid),
    resourceVersion: metadata.resourceVersion,
    generation: metadata.generation,
    creationTimestamp: time(metadata.creationTimestamp),
    deletionTimestamp: time(metadata.deletionTimestamp),
    finalizers: metadata.finalizers && internAll(metadata.finalizers),
    labels: metadata.labels && internAll(metadata.labels),
    annotations: metadata.annotations && internAll(annotations),
    ownerReferences: metadata.ownerReferences?.map(({ apiVersion, kind, name, uid, controller }) =>
      internAll({ apiVersion, kind, name, uid, controller }),
    ),
  };
}

/** The default transform: the object with trimmed metadata and every other field interned. */
export function trimObject<T extends KubernetesObject>(object: KubernetesObject): T {
  const {
    metadata,
    apiVersion: _a,
    kind: _k,
    ...rest
  } = object as KubernetesObject & Record<string, unknown>;
  return { ...internAll(rest), metadata: trimMetadata(metadata) } as T;
}
