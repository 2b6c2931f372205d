/** Where the target Secret stands: missing, someone else's, or Rotor's (in sync or not). */
import type { ClientCredentialSpec } from "../../api/clientcredential.ts";
import { ANN_NOT_AFTER, SECRET_ID } from "../../api/metadata.ts";
import { type CachedSecret, targetInSync } from "./cached-secret.ts";
import type { TargetState } from "./model.ts";
import { desiredTarget, isControlledBy, loginClientIdOf, type Owner, valueKeyOf } from "./resources.ts";

export function targetState(
  target: CachedSecret | undefined,
  owner: Owner,
  spec: ClientCredentialSpec,
  secretName: string,
  versionSecrets: Map<string, CachedSecret>,
  clientId: string | undefined,
  tokenUrl: string | undefined,
  caBundle?: string,
  clientPerSecret?: boolean,
): TargetState {
  if (!target) return { state: "missing" };
  if (!isControlledBy(target, owner.uid)) return { state: "foreign" };
  const secretId = target.metadata.annotations?.[SECRET_ID];
  const owned = {
    state: "owned" as const,
    secretId,
    hasValue: Boolean(target.digests[spec.keys.clientSecret]),
    writtenAt: target.writtenAt,
  };
  const version = [...versionSecrets.values()].find((v) => v.metadata.annotations?.[SECRET_ID] === secretId);
  const valueDigest = version?.digests[valueKeyOf(version, spec.keys.clientSecret)];
  const notAfter = version?.metadata.annotations?.[ANN_NOT_AFTER];
  if (!secretId || !clientId || valueDigest === undefined || !notAfter) return { ...owned, inSync: false };
  // The value is compared by digest: neither this cache nor this function ever holds it.
  const desired = desiredTarget(owner, spec, secretName, {
    clientId,
    loginClientId: loginClientIdOf(clientPerSecret, secretId),
    value: "",
    secretId,
    notAfter,
    tokenUrl,
    caBundle,
  });
  return { ...owned, inSync: targetInSync(target, desired, spec.keys.clientSecret, valueDigest) };
}
