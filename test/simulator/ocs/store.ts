/**
 * The simulator's state, and the rules of AVEVA's identity API that do not depend on HTTP:
 * tenants and their roles (roles.ts), client credential clients, their numbered secrets (at most
 * 10, values kept only as hashes), the access tokens issued to them, and deleted secrets that
 * still authenticate for a while. Everything lives in memory.
 */
import { createHash, randomBytes } from "node:crypto";
import { ApiError } from "./reply.ts";
import { ROLE_TYPE_IDS, TenantRoles } from "./roles.ts";

export const MAX_SECRETS_PER_CLIENT = 10;
/** A guess: AVEVA documents no limit on secret descriptions. The same as Rotor's own guess. */
export const MAX_DESCRIPTION_LENGTH = 255;
export const DEFAULT_ACCESS_TOKEN_LIFETIME = 3600;
/** A guess: the scope OCS puts in its access tokens. */
export const TOKEN_SCOPE = "ocsapi";

export interface Stats {
  /** Every HTTP request received. */
  requests: number;
  /** The most requests received within one wall-clock second: what a tenant's rate limit sees. */
  peakPerSecond: number;
  injectedFailures: number;
  /** clientId -> successful POST creations (201s, including those whose answer was lost). */
  clientCreations: Map<string, number>;
  /** Every PUT received, allowed or not. */
  puts: number;
  /** clientId -> the most secrets it ever held at once. */
  maxSecretsSeen: Map<string, number>;
  tokensIssued: number;
  /** Bytes of answers that never end (hostile.ts), sent before the client hung up. */
  hostileBytesSent: number;
}

export interface SecretSpec {
  description: string;
  /** ISO 8601; undefined: the secret never expires. */
  expiration: string | undefined;
}

export interface SecretRecord extends SecretSpec {
  /** Unique within the client, increasing. */
  id: number;
  hash: string;
}

export interface ClientSettings {
  name: string;
  enabled: boolean;
  accessTokenLifetime: number;
  roleIds: string[];
  tags: string[];
}

export interface ClientRecord extends ClientSettings {
  id: string;
  tenantId: string;
  secrets: SecretRecord[];
  nextSecretId: number;
}

export interface Tenant {
  id: string;
  /** ISO 8601: when it was added. */
  created: string;
  clients: Map<string, ClientRecord>;
  roles: TenantRoles;
}

/** A deleted secret, still accepted by the token endpoint until `until`. */
interface Lingering {
  client: ClientRecord;
  hash: string;
  expiration: string | undefined;
  until: number;
}

interface Token {
  client: ClientRecord;
  expiresAt: number;
}

export interface Minted {
  secret: SecretRecord;
  value: string;
}

/** Ids are GUIDs: compared without regard to case. */
const key = (id: string) => id.toLowerCase();
export const sameId = (a: string, b: string) => key(a) === key(b);
const hash = (value: string) => createHash("sha256").update(value).digest("hex");
const randomValue = () => randomBytes(32).toString("base64url");
const live = (expiration: string | undefined, now: number) =>
  expiration === undefined || Date.parse(expiration) > now;

export class Store {
  readonly stats: Stats = {
    requests: 0,
    peakPerSecond: 0,
    injectedFailures: 0,
    clientCreations: new Map(),
    puts: 0,
    maxSecretsSeen: new Map(),
    tokensIssued: 0,
    hostileBytesSent: 0,
  };
  private readonly tenants = new Map<string, Tenant>();
  /** Every client of every tenant: the token endpoint is not per tenant, so ids are unique across tenants. */
  private readonly clients = new Map<string, ClientRecord>();
  private lingering: Lingering[] = [];
  private readonly tokens = new Map<string, Token>();

  addTenant(id: string): string {
    if (this.tenants.has(key(id))) throw new Error(`tenant ${id} exists already`);
    const created = new Date().toISOString();
    this.tenants.set(key(id), { id, created, clients: new Map(), roles: new TenantRoles(id) });
    return id;
  }

  /** The tenant, or a 404. */
  tenant(id: string): Tenant {
    const tenant = this.tenants.get(key(id));
    if (!tenant) throw new ApiError(404, "Tenant not found", `No tenant ${id}.`, "Check the tenant id.");
    return tenant;
  }

  /** Gone from the tenant's list and from every client that held it. */
  removeRole(tenantId: string, roleId: string): void {
    const tenant = this.tenant(tenantId);
    tenant.roles.remove(roleId);
    for (const client of tenant.clients.values())
      client.roleIds = client.roleIds.filter((id) => !sameId(id, roleId));
  }

  /** Whether the client holds its tenant's role of the Tenant Administrator type. */
  isAdministrator(client: ClientRecord): boolean {
    const role = this.tenant(client.tenantId).roles.ofType(ROLE_TYPE_IDS.tenantAdministrator);
    return role !== undefined && client.roleIds.some((id) => sameId(id, role.id));
  }

  hasTenant(id: string): boolean {
    return this.tenants.has(key(id));
  }

  /** The tenant's clients, oldest first. */
  listClients(tenantId: string): ClientRecord[] {
    return [...this.tenant(tenantId).clients.values()];
  }

  createClient(tenantId: string, id: string, settings: ClientSettings, first: SecretSpec) {
    const tenant = this.tenant(tenantId);
    tenant.roles.checkAssignment(settings.roleIds);
    if (this.clients.has(key(id)))
      throw new ApiError(
        409,
        "Client already exists",
        `A client with id ${id} exists already.`,
        "Use another Id.",
      );
    const client: ClientRecord = { ...settings, id, tenantId: tenant.id, secrets: [], nextSecretId: 1 };
    tenant.clients.set(key(id), client);
    this.clients.set(key(id), client);
    return { client, ...this.addSecret(client, first) };
  }

  client(tenantId: string, clientId: string): ClientRecord {
    const client = this.tenant(tenantId).clients.get(key(clientId));
    if (!client)
      throw new ApiError(
        404,
        "Client not found",
        `No client ${clientId} in tenant ${tenantId}.`,
        "Check the id.",
      );
    return client;
  }

  updateClient(client: ClientRecord, settings: ClientSettings): void {
    this.tenant(client.tenantId).roles.checkAssignment(settings.roleIds);
    Object.assign(client, settings);
  }

  /** Its secrets, tokens and lingering secrets stop working at once: they belong to the record. */
  deleteClient(client: ClientRecord): void {
    this.tenants.get(key(client.tenantId))?.clients.delete(key(client.id));
    this.clients.delete(key(client.id));
    this.lingering = this.lingering.filter((l) => l.client !== client);
  }

  addSecret(client: ClientRecord, spec: SecretSpec): Minted {
    if (client.secrets.length >= MAX_SECRETS_PER_CLIENT)
      throw new ApiError(
        400,
        "Too many secrets",
        `Client ${client.id} has ${client.secrets.length} secrets, the most a client may have.`,
        "Delete a secret before adding another.",
      );
    const value = randomValue();
    const secret: SecretRecord = { ...spec, id: client.nextSecretId++, hash: hash(value) };
    client.secrets.push(secret);
    const seen = this.stats.maxSecretsSeen.get(client.id) ?? 0;
    this.stats.maxSecretsSeen.set(client.id, Math.max(seen, client.secrets.length));
    return { secret, value };
  }

  secret(client: ClientRecord, secretId: number): SecretRecord {
    const secret = client.secrets.find((s) => s.id === secretId);
    if (!secret)
      throw new ApiError(
        404,
        "Secret not found",
        `Client ${client.id} has no secret ${secretId}.`,
        "List the client's secrets.",
      );
    return secret;
  }

  updateSecret(secret: SecretRecord, spec: SecretSpec): void {
    Object.assign(secret, spec);
  }

  /** Gone from every list at once; accepted by the token endpoint for `delayMs` more. */
  deleteSecret(client: ClientRecord, secretId: number, delayMs: number, now = Date.now()): void {
    const secret = this.secret(client, secretId);
    client.secrets = client.secrets.filter((s) => s !== secret);
    if (delayMs > 0)
      this.lingering.push({ client, hash: secret.hash, expiration: secret.expiration, until: now + delayMs });
  }

  /** The enabled client that `value` is a current secret of, if any. */
  authenticate(clientId: string, value: string, now = Date.now()): ClientRecord | undefined {
    const client = this.clients.get(key(clientId));
    if (!client?.enabled) return undefined;
    const digest = hash(value);
    this.lingering = this.lingering.filter((l) => l.until > now);
    const matches = [...client.secrets, ...this.lingering.filter((l) => l.client === client)].some(
      (s) => s.hash === digest && live(s.expiration, now),
    );
    return matches ? client : undefined;
  }

  issueToken(client: ClientRecord, now = Date.now()): { token: string; expiresIn: number } {
    const token = randomValue();
    this.tokens.set(token, { client, expiresAt: now + client.accessTokenLifetime * 1000 });
    this.stats.tokensIssued++;
    return { token, expiresIn: client.accessTokenLifetime };
  }

  /** The client a bearer token was issued to, while the token is unexpired and the client exists. */
  tokenOwner(token: string, now = Date.now()): ClientRecord | undefined {
    const found = this.tokens.get(token);
    if (found && found.expiresAt <= now) this.tokens.delete(token);
    if (!found || found.expiresAt <= now) return undefined;
    return this.clients.get(key(found.client.id)) === found.client ? found.client : undefined;
  }
}
