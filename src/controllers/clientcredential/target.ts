/** Where the target Secret stands: missing, someone else's, or Rotor's (in sync or not). */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClientCredentialSpec } from "../../api/clientcredential.ts";
import { ANN_NOT_AFTER, SECRET_ID } from "../../api/metadata.ts";
import type { TargetState } from "./model.ts";
import {
  desiredTarget,
  isControlledBy,
  type Owner,
  targetInSync,
  versionValue,
  writtenAt,
} from "./resources.ts";

export function targetState(
  target: V1Secret | undefined,
  owner: Owner,
  spec: ClientCredentialSpec,
  secretName: string,
  versionSecrets: Map<string, V1Secret>,
  clientId: string | undefined,
  tokenUrl: string | undefined,
  caBundle?: string,
): TargetState {
  if (!target) return { state: "missing" };
  if (!isControlledBy(target, owner.uid)) return { state: "foreign" };
  const secretId = target.metadata?.annotations?.[SECRET_ID];
  const owned = {
    state: "owned" as const,
    secretId,
    hasValue: Boolean(target.data?.[spec.keys.clientSecret]),
    writtenAt: writtenAt(target),
  };
  const version = [...versionSecrets.values()].find((v) => v.metadata?.annotations?.[SECRET_ID] === secretId);
  const value = version ? versionValue(version, spec.keys.clientSecret) : undefined;
  const notAfter = version?.metadata?.annotations?.[ANN_NOT_AFTER];
  if (!secretId || !clientId || value === undefined || !notAfter) return { ...owned, inSync: false };
  const desired = desiredTarget(owner, spec, secretName, {
    clientId,
    value,
    secretId,
    notAfter,
    tokenUrl,
    caBundle,
  });
  return { ...owned, inSync: targetInSync(target, desired) };
}
