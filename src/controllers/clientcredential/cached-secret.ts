/**
 * What Rotor's cache keeps of the Secrets it wrote (controllers/namespaces.ts), and the
 * comparisons made on it: never a value, only digests.
 */
import { createHash } from "node:crypto";
import type { KubernetesObject, V1ObjectMeta, V1Secret } from "@kubernetes/client-node";
import { LABEL_OWNER_UID } from "../../api/metadata.ts";
import { keptAnnotation, trimMetadata } from "../../runtime/trim.ts";
import { writtenAt } from "./resources.ts";

/**
 * What Rotor's cache keeps of a Secret it wrote: metadata and a digest of each value, never the
 * value. Enough to tell that a version holds a value and whether the target Secret holds the
 * current version's; apply reads a value from the API server only at the moment it needs it.
 */
export interface CachedSecret extends KubernetesObject {
  metadata: V1ObjectMeta;
  /** A digest of each data entry (as stored, base64), for comparison only. */
  digests: Record<string, string>;
  /** The API server's time of Rotor's last write of it (its managed-fields entry). */
  writtenAt: string | undefined;
}

/**
 * SHA-256, truncated to 128 bits: a collision is out of reach, and values are random bytes or
 * public text, so the digest reveals nothing a reader of the cache could use.
 */
export const digestOf = (stored: string) =>
  // A fresh string of 22 characters: a slice of a longer one would keep that one alive.
  createHash("sha256").update(stored).digest().toString("base64url", 0, 16);

/** The informer's transform for the Secrets Rotor wrote (controllers/namespaces.ts). */
export function cacheSecret(object: KubernetesObject): CachedSecret {
  const secret = object as V1Secret;
  return {
    metadata: trimMetadata(secret.metadata),
    digests: Object.fromEntries(
      Object.entries(secret.data ?? {}).flatMap(([key, value]) => (value ? [[key, digestOf(value)]] : [])),
    ),
    writtenAt: writtenAt(secret),
  };
}

/** The informer index of Rotor's Secrets by the uid of the ClientCredential they belong to. */
export const BY_OWNER = "owner-uid";
export const ownerUidOf = (secret: KubernetesObject): string[] => {
  const uid = secret.metadata?.labels?.[LABEL_OWNER_UID];
  return uid ? [uid] : [];
};

/**
 * Whether the target Secret holds exactly what Rotor would write there. The secret's value is
 * compared by digest (`valueDigest`, the version's); `desired` may carry any value.
 */
export function targetInSync(
  actual: CachedSecret,
  desired: V1Secret,
  valueKey: string,
  valueDigest: string,
): boolean {
  const sameData = Object.entries(desired.data ?? {}).every(
    ([k, v]) => actual.digests[k] === (k === valueKey ? valueDigest : digestOf(v)),
  );
  const labels = actual.metadata?.labels ?? {};
  const annotations = actual.metadata?.annotations ?? {};
  return (
    sameData &&
    Object.entries(desired.metadata?.labels ?? {}).every(([k, v]) => labels[k] === v) &&
    Object.entries(desired.metadata?.annotations ?? {}).every(
      ([k, v]) => annotations[k] === keptAnnotation(v),
    )
  );
}
