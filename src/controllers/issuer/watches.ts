/**
 * How the issuer controller is woken, and whom it wakes. Its keys come from the CredentialIssuer
 * and ClusterCredentialIssuer informers: adds, deletes and spec changes, not its own status
 * writes. A change of an issuer's readiness wakes the ClientCredentials that use it.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { CLUSTER_CREDENTIAL_ISSUER, CREDENTIAL_ISSUER, GROUP, VERSION } from "../../api/group.ts";
import { generationChanged, type Manager, objectKey, type Watch, watch } from "../../runtime/manager.ts";
import type { ClientCredentialObject } from "../clientcredential/resources.ts";
import { type IssuerRef, issuerKey, parseIssuerKey } from "./keys.ts";

export function issuerWatches(manager: Manager, kc: KubeConfig): Watch[] {
  return [CREDENTIAL_ISSUER, CLUSTER_CREDENTIAL_ISSUER].map(({ kind, plural }) => {
    const informer = manager.informer<KubernetesObject>({
      name: plural,
      kc,
      path: `/apis/${GROUP}/${VERSION}/${plural}`,
    });
    const keyOf = (issuer: KubernetesObject) =>
      issuerKey({
        kind: kind as IssuerRef["kind"],
        namespace: issuer.metadata?.namespace,
        name: issuer.metadata?.name as string,
      });
    return watch(informer, keyOf, generationChanged);
  });
}

/** The fairness group of an issuer key: a CredentialIssuer's namespace; each cluster issuer alone. */
export const issuerGroup = (key: string): string => parseIssuerKey(key).namespace ?? key;

/** The keys of the ClientCredentials (of those given) that use this issuer. */
export function clientCredentialsUsing(
  ref: IssuerRef,
  credentials: readonly ClientCredentialObject[],
): string[] {
  return credentials
    .filter((cc) => {
      const used = (cc.spec as { issuerRef?: { kind?: string; name?: string } } | undefined)?.issuerRef;
      return (
        used?.kind === ref.kind &&
        used.name === ref.name &&
        (ref.namespace === undefined || cc.metadata?.namespace === ref.namespace)
      );
    })
    .map(objectKey);
}
