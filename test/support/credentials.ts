/** Helpers to look at ClientCredentials, their Secrets and the embedded issuer from a test. */
import { CoreV1Api, CustomObjectsApi, type V1Secret } from "@kubernetes/client-node";
import type { ClientCredentialStatus } from "../../src/api/clientcredential.ts";
import { type ClientRecord, clientSecretName, decodeRecord } from "../../src/issuers/embedded/record.ts";
import { eventually, kubeConfig } from "./cluster.ts";
import { OPERATOR_NAMESPACE } from "./rotor.ts";

export interface ClientCredentialJson {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  spec: Record<string, unknown>;
  status?: ClientCredentialStatus;
}

const custom = () => kubeConfig().makeApiClient(CustomObjectsApi);
const core = () => kubeConfig().makeApiClient(CoreV1Api);
const cr = { group: "rotor.dev", version: "v1alpha1", plural: "clientcredentials" };

export async function createClientCredential(namespace: string, name: string, spec: Record<string, unknown>) {
  return (await custom().createNamespacedCustomObject({
    ...cr,
    namespace,
    body: {
      apiVersion: "rotor.dev/v1alpha1",
      kind: "ClientCredential",
      metadata: { name },
      spec: { description: `test ${name}`, ...spec },
    },
  })) as ClientCredentialJson;
}

export async function getClientCredential(
  namespace: string,
  name: string,
): Promise<ClientCredentialJson | undefined> {
  try {
    return (await custom().getNamespacedCustomObject({ ...cr, namespace, name })) as ClientCredentialJson;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

export async function annotate(namespace: string, name: string, annotations: Record<string, string>) {
  const { setHeaderOptions, PatchStrategy } = await import("@kubernetes/client-node");
  await custom().patchNamespacedCustomObject(
    { ...cr, namespace, name, body: { metadata: { annotations } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

export async function deleteClientCredential(namespace: string, name: string) {
  await custom().deleteNamespacedCustomObject({ ...cr, namespace, name });
}

export const condition = (cc: ClientCredentialJson | undefined, type: string) =>
  cc?.status?.conditions?.find((c) => c.type === type);

/** Waits until the ClientCredential is Ready with a current secret, and returns it. */
export function waitForReady(
  namespace: string,
  name: string,
  timeoutMs?: number,
): Promise<ClientCredentialJson> {
  return eventually(
    `${name} Ready`,
    async () => {
      const cc = await getClientCredential(namespace, name);
      return condition(cc, "Ready")?.status === "True" && cc?.status?.currentSecretId ? cc : undefined;
    },
    timeoutMs,
  );
}

/** Waits until the ClientCredential's Ready condition has this reason, and returns it. */
export function waitForReason(
  namespace: string,
  name: string,
  reason: string,
): Promise<ClientCredentialJson> {
  return eventually(`${name} ${reason}`, async () => {
    const cc = await getClientCredential(namespace, name);
    return condition(cc, "Ready")?.reason === reason ? cc : undefined;
  });
}

/** Waits until the ClientCredential is gone (its finalizer done). */
export function waitForGone(namespace: string, name: string, timeoutMs?: number): Promise<true> {
  return eventually(
    `${name} to go`,
    async () => ((await getClientCredential(namespace, name)) === undefined ? true : undefined),
    timeoutMs,
  );
}

export async function readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core().readNamespacedSecret({ namespace, name });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

export const decoded = (secret: V1Secret | undefined, key: string) =>
  secret?.data?.[key] === undefined ? undefined : Buffer.from(secret.data[key], "base64").toString("utf8");

export async function versionSecrets(namespace: string, uid: string): Promise<V1Secret[]> {
  const list = await core().listNamespacedSecret({
    namespace,
    labelSelector: `rotor.dev/client-credential-uid=${uid},rotor.dev/role=version`,
  });
  return list.items;
}

/** The embedded issuer's record of a client, straight from its registry Secret. */
export async function issuerRecord(clientId: string): Promise<ClientRecord | undefined> {
  return decodeRecord(await readSecret(OPERATOR_NAMESPACE, clientSecretName(clientId)));
}

export interface TokenResponse {
  status: number;
  body: { access_token?: string; error?: string; expires_in?: number };
}

export async function requestToken(
  url: string,
  clientId: string,
  secret: string,
  method: "basic" | "post" = "basic",
): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (method === "basic") {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`;
  } else {
    form.set("client_id", clientId);
    form.set("client_secret", secret);
  }
  const response = await fetch(url, { method: "POST", headers, body: form });
  return { status: response.status, body: (await response.json()) as TokenResponse["body"] };
}
