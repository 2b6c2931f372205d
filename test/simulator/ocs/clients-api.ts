/**
 * What the client credential clients endpoints do, once api.ts has routed the request and
 * checked who asks: `.../ClientCredentialClients[/{clientId}[/Secrets[/{secretId}]]]`, in
 * AVEVA's PascalCase shapes.
 */
import { randomUUID } from "node:crypto";
import { clientCreation, clientSettings, readJson, secretCreation, secretUpdate } from "./bodies.ts";
import { page } from "./paging.ts";
import { ApiError, type Incoming, type Reply } from "./reply.ts";
import type { ClientRecord, SecretRecord, Store } from "./store.ts";

export interface ApiOptions {
  /** How long a secret deleted now keeps authenticating. */
  deletionDelayMs: number;
}

/** GET (HEAD) the tenant's clients, or POST one. */
export function clients(store: Store, request: Incoming, tenantId: string): Reply {
  if (request.method !== "POST") return page(store.listClients(tenantId).map(clientJson), request.url);
  const creation = clientCreation(readJson(request));
  const id = creation.id ?? randomUUID();
  const { client, secret, value } = store.createClient(tenantId, id, creation.settings, creation.secret);
  store.stats.clientCreations.set(client.id, (store.stats.clientCreations.get(client.id) ?? 0) + 1);
  return {
    status: 201,
    body: {
      Secret: value,
      Id: secret.id,
      Description: secret.description,
      ExpirationDate: secret.expiration ?? null,
      Client: clientJson(client),
    },
  };
}

export function client(store: Store, request: Incoming, client: ClientRecord): Reply {
  if (request.method === "DELETE") {
    store.deleteClient(client);
    return { status: 204 };
  }
  if (request.method === "PUT") store.updateClient(client, clientSettings(readJson(request)));
  return { status: 200, body: clientJson(client) };
}

export function secrets(store: Store, request: Incoming, client: ClientRecord): Reply {
  if (request.method !== "POST") return page(client.secrets.map(secretJson), request.url);
  const { secret, value } = store.addSecret(client, secretCreation(readJson(request)));
  return { status: 201, body: { ...secretJson(secret), Secret: value } };
}

export function secret(
  store: Store,
  request: Incoming,
  client: ClientRecord,
  secretId: string,
  options: ApiOptions,
): Reply {
  const id = secretNumber(secretId);
  if (request.method === "DELETE") {
    store.deleteSecret(client, id, options.deletionDelayMs);
    return { status: 204 };
  }
  const secret = store.secret(client, id);
  if (request.method === "PUT") store.updateSecret(secret, secretUpdate(readJson(request), secret));
  return { status: 200, body: secretJson(secret) };
}

function secretNumber(text: string): number {
  if (!/^\d{1,9}$/.test(text))
    throw new ApiError(
      400,
      "Invalid request",
      `Secret id "${text}" is not an integer.`,
      "Use the secret's Id.",
    );
  return Number(text);
}

const clientJson = (client: ClientRecord) => ({
  Id: client.id,
  Name: client.name,
  Enabled: client.enabled,
  AccessTokenLifetime: client.accessTokenLifetime,
  RoleIds: client.roleIds,
  Tags: client.tags,
});

/** Never the value: OCS does not keep it. */
const secretJson = (secret: SecretRecord) => ({
  Id: secret.id,
  Expiration: secret.expiration ?? null,
  Expires: secret.expiration !== undefined,
  Description: secret.description,
});
