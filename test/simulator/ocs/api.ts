/**
 * The identity API below `/api/v1/Tenants/{tenantId}`: the tenant itself, its roles, its client
 * credential clients and their secrets. Here: routing, bearer authentication, who may do what
 * (AVEVA's "Authorization: Allowed for these roles" on each endpoint), HEAD, and the
 * `Operation-Id` header on every answer. What each endpoint does is in clients-api.ts and
 * tenant-api.ts.
 */
import { randomUUID } from "node:crypto";
import { type ApiOptions, client, clients, secret, secrets } from "./clients-api.ts";
import { ApiError, type Incoming, type Reply, replyFor } from "./reply.ts";
import { type ClientRecord, type Store, sameId } from "./store.ts";
import { role, roles, tenant } from "./tenant-api.ts";

export type { ApiOptions } from "./clients-api.ts";

export type Level = "tenant" | "roles" | "role" | "clients" | "client" | "secrets" | "secret";

/**
 * Who may call each method: "member" is any client of the tenant (every client holds the Tenant
 * Member role), "self" the client the path names, "admin" only a client with the Tenant
 * Administrator role, who may also do everything the others may.
 */
type Who = "member" | "self" | "admin";
const RULES: Record<Level, Record<string, Who>> = {
  tenant: { GET: "member", HEAD: "member" },
  roles: { GET: "member", HEAD: "member" },
  role: { GET: "member", HEAD: "member" },
  clients: { GET: "member", HEAD: "member", POST: "admin" },
  client: { GET: "member", HEAD: "member", PUT: "admin", DELETE: "admin" },
  secrets: { GET: "self", HEAD: "self", POST: "self" },
  secret: { GET: "self", HEAD: "self", PUT: "admin", DELETE: "self" },
};

export interface Target {
  level: Level;
  tenantId: string;
  /** The role or the client the path names, else "". */
  id: string;
  secretId: string;
}

/** The request as the API answers it, with a fresh `Operation-Id` on every answer. */
export function api(store: Store, request: Incoming, options: ApiOptions): Reply {
  let reply: Reply;
  try {
    reply = handle(store, request, options);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    reply = replyFor(error);
  }
  reply = { ...reply, headers: { "Operation-Id": randomUUID(), ...reply.headers } };
  if (request.method !== "HEAD") return reply;
  // HEAD: the same status and headers as GET; AVEVA documents its errors without a body.
  return reply.status < 400 ? { ...reply, head: true } : { status: reply.status, headers: reply.headers };
}

function handle(store: Store, request: Incoming, options: ApiOptions): Reply {
  const target = parseTarget(request.url.pathname);
  if (!target)
    throw new ApiError(404, "Not found", `No resource at ${request.url.pathname}.`, "Check the URL.");
  const { level, tenantId, id } = target;
  const who = RULES[level][request.method];
  if (!who)
    throw new ApiError(405, "Method not allowed", `${request.method} is not supported here.`, "", {
      allow: Object.keys(RULES[level]).join(", "),
    });
  const caller = authenticate(store, request.headers.authorization);
  const ownTenant = sameId(caller.tenantId, tenantId);
  // "Get Tenant" documents only 200, 400 and 403, the last without a body: a tenant that does
  // not exist looks like another's. "Tenant Exists" (HEAD) documents 204, 400 and 404.
  if (level === "tenant") {
    if (ownTenant) return tenant(store.tenant(tenantId), request.method);
    return { status: request.method === "HEAD" && !store.hasTenant(tenantId) ? 404 : 403 };
  }
  // Unknown before foreign: a tenant that does not exist is reported as such, whoever asks.
  const found = store.tenant(tenantId);
  const allowed =
    ownTenant &&
    (who === "member" || store.isAdministrator(caller) || (who === "self" && sameId(id, caller.id)));
  if (!allowed)
    throw new ApiError(
      403,
      "Forbidden",
      `Client ${caller.id} may not ${request.method} ${request.url.pathname}.`,
      who === "admin"
        ? "Use a client with the Tenant Administrator role in this tenant."
        : "Use the client itself, or a client with the Tenant Administrator role in this tenant.",
    );
  if (level === "roles") return roles(found, request.url);
  if (level === "role") return role(found, id);
  if (level === "clients") return clients(store, request, tenantId);
  const record = store.client(tenantId, id);
  if (level === "client") return client(store, request, record);
  if (level === "secrets") return secrets(store, request, record);
  return secret(store, request, record, target.secretId, options);
}

const TENANT = /^\/api\/v1\/Tenants\/([^/]+)((?:\/[^/]+)*)\/?$/i;

/** `{tenant}[/Roles[/{roleId}] | /ClientCredentialClients[/{clientId}[/Secrets[/{secretId}]]]]` */
export function parseTarget(pathname: string): Target | undefined {
  const match = TENANT.exec(pathname);
  if (!match) return undefined;
  try {
    const tenantId = decodeURIComponent(match[1] ?? "");
    const [collection, id, secrets, secretId, ...more] = (match[2] ?? "")
      .split("/")
      .slice(1)
      .map(decodeURIComponent);
    const is = (segment: string | undefined, name: string) => segment?.toLowerCase() === name.toLowerCase();
    const target = (level: Level): Target => ({ level, tenantId, id: id ?? "", secretId: secretId ?? "" });
    if (collection === undefined) return target("tenant");
    if (is(collection, "Roles") && secrets === undefined) return target(id === undefined ? "roles" : "role");
    if (!is(collection, "ClientCredentialClients") || more.length > 0) return undefined;
    if (id === undefined) return target("clients");
    if (secrets === undefined) return target("client");
    if (!is(secrets, "Secrets")) return undefined;
    return target(secretId === undefined ? "secrets" : "secret");
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
