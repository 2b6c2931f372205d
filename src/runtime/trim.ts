/**
 * What an informer keeps of an object by default: trimmed metadata, repeated strings interned
 * (runtime/intern.ts). Managed fields and kubectl's last-applied copy (as large as the object)
 * are what no reader needs.
 */
import { createHash } from "node:crypto";
import type { KubernetesObject, V1ObjectMeta } from "@kubernetes/client-node";
import { intern, internAll } from "./intern.ts";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
/** Longer annotation values are kept as a digest. */
const MAX_ANNOTATION_LENGTH = 256;

/**
 * An annotation value as the cache keeps it. Whoever writes an object may put up to 256 KiB of
 * annotations on it, and a tenant writes its ClientCredentials and may label Secrets like
 * Rotor's: a long value is kept as a digest, which still tells a change (or a mismatch) apart.
 * Compare a wanted value with `kept(wanted)`.
 */
export function keptAnnotation(value: string): string {
  return value.length <= MAX_ANNOTATION_LENGTH
    ? intern(value)
    : `sha256:${createHash("sha256").update(value).digest().toString("base64url", 0, 16)}`;
}

/**
 * The metadata a controller reads, with repeated strings interned: without field managers,
 * kubectl's last applied copy (as large as the object), long annotation values (a digest
 * instead) and anything else no reader needs.
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
    annotations:
      metadata.annotations &&
      Object.fromEntries(Object.entries(annotations).map(([key, value]) => [key, keptAnnotation(value)])),
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
