/** Helpers for CredentialIssuers and the Secrets they read, from a test. */
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { eventually, kubeConfig } from "./cluster.ts";

export interface IssuerJson {
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
  status?: {
    tokenEndpoint?: string;
    lastCheckTime?: string;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

const path = { group: "rotor.dev", version: "v1alpha1", plural: "credentialissuers" };

export async function createCredentialIssuer(namespace: string, name: string, spec: Record<string, unknown>) {
  await kubeConfig()
    .makeApiClient(CustomObjectsApi)
    .createNamespacedCustomObject({
      ...path,
      namespace,
      body: { apiVersion: "rotor.dev/v1alpha1", kind: "CredentialIssuer", metadata: { name }, spec },
    });
}

export async function getCredentialIssuer(namespace: string, name: string): Promise<IssuerJson> {
  return (await kubeConfig()
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ ...path, namespace, name })) as IssuerJson;
}

export const readyCondition = (issuer: { status?: IssuerJson["status"] } | undefined) =>
  issuer?.status?.conditions?.find((c) => c.type === "Ready");

/** Waits until the issuer's Ready condition has this status (and reason, when given). */
export function waitForIssuer(
  namespace: string,
  name: string,
  status: "True" | "False",
  reason?: string,
  timeoutMs = 60_000,
): Promise<IssuerJson> {
  return eventually(
    `CredentialIssuer ${name} Ready=${status}${reason ? ` (${reason})` : ""}`,
    async () => {
      const issuer = await getCredentialIssuer(namespace, name);
      const ready = readyCondition(issuer);
      return ready?.status === status && (!reason || ready.reason === reason) ? issuer : undefined;
    },
    timeoutMs,
  );
}

/** Creates or replaces an Opaque Secret with these string values. */
export async function putSecret(namespace: string, name: string, data: Record<string, string>) {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const body = { metadata: { name }, stringData: data };
  try {
    await core.createNamespacedSecret({ namespace, body });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    await core.replaceNamespacedSecret({ namespace, name, body });
  }
}
