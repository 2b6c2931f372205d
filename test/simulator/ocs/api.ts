/**
 * The client credential clients API,
 * `/api/v1/Tenants/{tenantId}/ClientCredentialClients[/{clientId}[/Secrets[/{secretId}]]]`:
 * bearer authentication, the two kinds of caller (a tenant administrator may do anything in its
 * tenant, any other client only what AVEVA's reference calls "Self" on its own record), paging
 * with skip, count and Total-Count, and AVEVA's PascalCase shapes.
 */
import { randomUUID } from "node:crypto";
import { clientCreation, clientSettings, readJson, secretCreation, secretUpdate } from "./bodies.ts";
import { ApiError, type Incoming, type Reply, replyFor } from "./reply.ts";
import { type ClientRecord, isAdministrator, type SecretRecord, type Store, sameId } from "./store.ts";

const ROUTE =
  /^\/api\/v1\/Tenants\/([^/]+)\/ClientCredentialClients(?:\/([^/]+)(?:\/(Secrets)(?:\/([^/]+))?)?)?\/?$/i;

type Level = "clients" | "client" | "secrets" | "secret";

const METHODS: Record<Level, string[]> = {
  clients: ["GET", "POST"],
  client: ["GET", "PUT", "DELETE"],
  secrets: ["GET", "POST"],
  secret: ["GET", "PUT", "DELETE"],
};

/** What a client without the administrator role may do, and only to itself. */
const SELF: Record<Level, string[]> = {
  clients: [],
  client: ["GET"],
  secrets: ["GET", "POST"],
  secret: ["GET", "DELETE"],
};

interface Target {
  level: Level;
  tenantId: string;
  clientId: string;
  secretId: string;
}

export interface ApiOptions {
  /** How long a secret deleted now keeps authenticating. */
  deletionDelayMs: number;
}

export function api(store: Store, request: Incoming, options: ApiOptions): Reply {
  try {
    return handle(store, request, options);
  } catch (error) {
    if (error instanceof ApiError) return replyFor(error);
    throw error;
  }
}

function handle(store: Store, request: Incoming, options: ApiOptions): Reply {
  const target = parseTarget(request.url.pathname);
  if (!target)
    throw new ApiError(404, "Not found", `No resource at ${request.url.pathname}.`, "Check the URL.");
  const { level, tenantId, clientId } = target;
  if (!METHODS[level].includes(request.method))
    throw new ApiError(405, "Method not allowed", `${request.method} is not supported here.`, "", {
      allow: METHODS[level].join(", "),
    });
  const caller = authenticate(store, request.headers.authorization);
  // Unknown before foreign: a tenant that does not exist is reported as such, whoever asks.
  if (!store.hasTenant(tenantId))
    throw new ApiError(404, "Tenant not found", `No tenant ${tenantId}.`, "Check the tenant id.");
  const self = clientId !== "" && sameId(clientId, caller.id);
  const allowed =
    sameId(caller.tenantId, tenantId) &&
    (isAdministrator(caller) || (self && SELF[level].includes(request.method)));
  if (!allowed)
    throw new ApiError(
      403,
      "Forbidden",
      `Client ${caller.id} may not ${request.method} ${request.url.pathname}.`,
      "Use a client with the Tenant Administrator role in this tenant.",
    );
  if (level === "clients") return clients(store, request, tenantId);
  const client = store.client(tenantId, clientId);
  if (level === "client") return oneClient(store, request, client);
  if (level === "secrets") return secrets(store, request, client);
  return oneSecret(store, request, client, secretNumber(target.secretId), options);
}

function parseTarget(pathname: string): Target | undefined {
  const match = ROUTE.exec(pathname);
  if (!match) return undefined;
  try {
    const [tenantId, clientId, secrets, secretId] = match.slice(1).map((p) => decodeURIComponent(p ?? ""));
    const level: Level = secretId ? "secret" : secrets ? "secrets" : clientId ? "client" : "clients";
    return { level, tenantId: tenantId ?? "", clientId: clientId ?? "", secretId: secretId ?? "" };
  } catch {
    return undefined;
  }
}

function authenticate(store: Store, header: string | undefined): ClientRecord {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
  const caller = token ? store.tokenOwner(token) : undefined;
  if (!caller)
    throw new ApiError(
      401,
      "Unauthorized",
      token ? "The access token is invalid or has expired." : "No bearer token.",
      "Get an access token from the token endpoint and send it as Authorization: Bearer.",
      { "www-authenticate": "Bearer" },
    );
  return caller;
}

function clients(store: Store, request: Incoming, tenantId: string): Reply {
  if (request.method === "GET") return page(store.listClients(tenantId).map(clientJson), request.url);
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

function oneClient(store: Store, request: Incoming, client: ClientRecord): Reply {
  if (request.method === "DELETE") {
    store.deleteClient(client);
    return { status: 204 };
  }
  if (request.method === "PUT") store.updateClient(client, clientSettings(readJson(request)));
  return { status: 200, body: clientJson(client) };
}

function secrets(store: Store, request: Incoming, client: ClientRecord): Reply {
  if (request.method === "GET") return page(client.secrets.map(secretJson), request.url);
  const { secret, value } = store.addSecret(client, secretCreation(readJson(request)));
  return { status: 201, body: { ...secretJson(secret), Secret: value } };
}

function oneSecret(
  store: Store,
  request: Incoming,
  client: ClientRecord,
  secretId: number,
  options: ApiOptions,
): Reply {
  if (request.method === "DELETE") {
    store.deleteSecret(client, secretId, options.deletionDelayMs);
    return { status: 204 };
  }
  const secret = store.secret(client, secretId);
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

/** `skip` (default 0) and `count` (default 100) over the whole list, whose length is in Total-Count. */
function page(items: unknown[], url: URL): Reply {
  const skip = paging(url, "skip", 0);
  const count = paging(url, "count", 100);
  return {
    status: 200,
    headers: { "Total-Count": String(items.length) },
    body: items.slice(skip, skip + count),
  };
}

function paging(url: URL, name: string, fallback: number): number {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return fallback;
  if (!/^\d{1,9}$/.test(text))
    throw new ApiError(400, "Invalid request", `${name} must be a non-negative integer.`, `Correct ${name}.`);
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
