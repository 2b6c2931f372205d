/**
 * Helpers for CredentialIssuers, ClusterCredentialIssuers and the Secrets they read, from a
 * test; and a server that collects secrets, to show that none are sent to it.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { eventually, kubeConfig } from "./cluster.ts";

export interface IssuerJson {
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
  status?: {
    tokenEndpoint?: string;
    lastCheckTime?: string;
    clientRoles?: Array<{ id: string; name: string }>;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

/** A CredentialIssuer when `namespace` is given, else a ClusterCredentialIssuer. */
export interface IssuerRef {
  namespace?: string;
  name: string;
}

const group = { group: "rotor.dev", version: "v1alpha1" };
const custom = () => kubeConfig().makeApiClient(CustomObjectsApi);
const kindOf = (ref: IssuerRef) => (ref.namespace ? "CredentialIssuer" : "ClusterCredentialIssuer");
const pluralOf = (ref: IssuerRef) => (ref.namespace ? "credentialissuers" : "clustercredentialissuers");

export async function createIssuer(ref: IssuerRef, spec: Record<string, unknown>) {
  const body = { apiVersion: "rotor.dev/v1alpha1", kind: kindOf(ref), metadata: { name: ref.name }, spec };
  const plural = pluralOf(ref);
  if (ref.namespace)
    await custom().createNamespacedCustomObject({ ...group, plural, namespace: ref.namespace, body });
  else await custom().createClusterCustomObject({ ...group, plural, body });
}

export async function getIssuer(ref: IssuerRef): Promise<IssuerJson> {
  const plural = pluralOf(ref);
  return (await (ref.namespace
    ? custom().getNamespacedCustomObject({ ...group, plural, namespace: ref.namespace, name: ref.name })
    : custom().getClusterCustomObject({ ...group, plural, name: ref.name }))) as IssuerJson;
}

export async function deleteIssuer(ref: IssuerRef) {
  const plural = pluralOf(ref);
  await (ref.namespace
    ? custom().deleteNamespacedCustomObject({ ...group, plural, namespace: ref.namespace, name: ref.name })
    : custom().deleteClusterCustomObject({ ...group, plural, name: ref.name })
  ).catch(() => undefined);
}

export const readyCondition = (issuer: { status?: IssuerJson["status"] } | undefined) =>
  issuer?.status?.conditions?.find((c) => c.type === "Ready");

/** Waits until the issuer's Ready condition has this status (and reason, when given). */
export function waitForIssuer(
  ref: IssuerRef,
  status: "True" | "False",
  reason?: string,
  timeoutMs = 60_000,
): Promise<IssuerJson> {
  return eventually(
    `${kindOf(ref)} ${ref.name} Ready=${status}${reason ? ` (${reason})` : ""}`,
    async () => {
      const issuer = await getIssuer(ref);
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

/**
 * A server on another host (port) than the issuer, as an attacker would run it to collect
 * secrets: it answers every request like a token endpoint and counts the ones that carried a
 * client secret (form field or HTTP Basic).
 */
export interface SecretCollector {
  url: string;
  requests: () => number;
  secretsReceived: () => number;
  stop: () => Promise<void>;
}

export async function startSecretCollector(): Promise<SecretCollector> {
  let requests = 0;
  let secrets = 0;
  const server = createServer((request, response) => {
    requests++;
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const basic = /^basic /i.test(request.headers.authorization ?? "");
      if (basic || new URLSearchParams(body).has("client_secret")) secrets++;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ access_token: "collected", expires_in: 3600, token_type: "Bearer" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/connect/token`,
    requests: () => requests,
    secretsReceived: () => secrets,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
