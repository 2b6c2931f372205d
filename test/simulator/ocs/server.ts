/**
 * A stand-in for an OCS / AVEVA Data Hub region on a local port, for Rotor's tests: the identity
 * API's tenant, roles, client credential clients and secrets, the token endpoint, and the faults
 * a test switches on. Tests seed tenants, roles and clients directly, point Rotor at `url`, and
 * check what Rotor did through `stats` and `secrets()`. It logs nothing.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { api } from "./api.ts";
import { chooseFault, type Faults, injected, NO_FAULTS } from "./faults.ts";
import { endlessSecretsPage, HONEST, type Hostility, streamForever } from "./hostile.ts";
import { DISCOVERY_PATH, discovery, TOKEN_PATH, token } from "./identity.ts";
import { ApiError, errorReply, type Incoming, type Reply, readBody, send } from "./reply.ts";
import { ROLE_TYPE_IDS } from "./roles.ts";
import { type ClientSettings, DEFAULT_ACCESS_TOKEN_LIFETIME, type Stats, Store, sameId } from "./store.ts";

export type { FaultKind, Faults } from "./faults.ts";
export { ENDLESS_TOTAL_COUNT, type Hostility } from "./hostile.ts";
export { MAX_COUNT } from "./paging.ts";
export { ROLE_TYPE_IDS } from "./roles.ts";
export { MAX_DESCRIPTION_LENGTH, MAX_SECRETS_PER_CLIENT } from "./store.ts";

/** How `secrets()` shows a secret that never expires. */
export const NEVER = "9999-12-31T23:59:59.999Z";
const YEAR_MS = 365 * 24 * 3600 * 1000;

export interface SeededClient {
  clientId: string;
  secret: string;
  secretId: string;
}

export class OcsSimulator {
  readonly stats: Stats;
  private baseUrl = "";
  private faults: Faults = { ...NO_FAULTS };
  private hostility: Hostility = { ...HONEST };
  private readonly store = new Store();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor() {
    this.stats = this.store.stats;
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  static async start(
    options: { host?: string; port?: number; faults?: Partial<Faults> } = {},
  ): Promise<OcsSimulator> {
    const simulator = new OcsSimulator();
    simulator.setFaults(options.faults ?? {});
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      simulator.server.once("error", reject);
      simulator.server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = simulator.server.address() as AddressInfo;
    simulator.baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    return simulator;
  }

  /** The base URL, as Rotor's spec.ocs.url: no trailing slash. */
  get url(): string {
    return this.baseUrl;
  }

  /** Merges into the current faults; takes effect with the next request. */
  setFaults(faults: Partial<Faults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  /** Merges into the current hostility (hostile.ts); takes effect with the next request. */
  setHostility(hostility: Partial<Hostility>): void {
    this.hostility = { ...this.hostility, ...hostility };
  }

  /** A tenant with the built-in roles under ids of its own (see `roleId()`), and a community's role. */
  addTenant(tenantId: string = randomUUID()): string {
    return this.store.addTenant(tenantId);
  }

  /** The id of the tenant's role called `name` (as "Tenant Member"); throws if it has none. */
  roleId(tenantId: string, name: string): string {
    const role = seeding(() =>
      this.store
        .tenant(tenantId)
        .roles.list()
        .find((r) => r.name === name),
    );
    if (!role) throw new Error(`tenant ${tenantId} has no role "${name}"`);
    return role.id;
  }

  memberRoleId(tenantId: string): string {
    return this.typedRoleId(tenantId, ROLE_TYPE_IDS.tenantMember);
  }

  /** A role of the tenant's own, as an administrator adds one; RoleTypeId null unless given. */
  addRole(
    tenantId: string,
    role: { name: string; description?: string; roleTypeId?: string; id?: string },
  ): string {
    return seeding(() => this.store.tenant(tenantId).roles.add(role)).id;
  }

  /** Removes any role, even a built-in one (AVEVA would not), and takes it from every client. */
  removeRole(tenantId: string, roleId: string): void {
    seeding(() => this.store.removeRole(tenantId, roleId));
  }

  clientRoleIds(tenantId: string, clientId: string): string[] {
    return [...seeding(() => this.store.client(tenantId, clientId)).roleIds];
  }

  /** A client with the Member and Tenant Administrator roles, and one secret. */
  addAdminClient(tenantId: string): SeededClient {
    return this.seedClient(tenantId, randomUUID(), {
      name: "Administrator",
      enabled: true,
      accessTokenLifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
      roleIds: [this.memberRoleId(tenantId), this.typedRoleId(tenantId, ROLE_TYPE_IDS.tenantAdministrator)],
      tags: [],
    });
  }

  /**
   * A member client with one secret, as a person would create it in the portal; `roleIds`
   * are given besides the Member role.
   */
  addClient(
    tenantId: string,
    options: { clientId?: string; name?: string; accessTokenLifetime?: number; roleIds?: string[] } = {},
  ): SeededClient {
    const clientId = options.clientId ?? randomUUID();
    return this.seedClient(tenantId, clientId, {
      name: options.name ?? `Client ${clientId}`,
      enabled: true,
      accessTokenLifetime: options.accessTokenLifetime ?? DEFAULT_ACCESS_TOKEN_LIFETIME,
      roleIds: [this.memberRoleId(tenantId), ...(options.roleIds ?? [])],
      tags: [],
    });
  }

  /** A secret added by someone else (the portal, a script); subject to the limit of 10. */
  addSecret(
    tenantId: string,
    clientId: string,
    options: { description?: string; expiration?: Date } = {},
  ): { id: string; value: string } {
    const { secret, value } = seeding(() =>
      this.store.addSecret(this.store.client(tenantId, clientId), {
        description: options.description ?? "Added in the portal",
        expiration: (options.expiration ?? new Date(Date.now() + YEAR_MS)).toISOString(),
      }),
    );
    return { id: String(secret.id), value };
  }

  /** The client's secrets as a list shows them: deleted ones are gone, expired ones are not. */
  secrets(
    tenantId: string,
    clientId: string,
  ): Array<{ id: string; description: string; expiration: string }> {
    return seeding(() => this.store.client(tenantId, clientId)).secrets.map((s) => ({
      id: String(s.id),
      description: s.description,
      expiration: s.expiration ?? NEVER,
    }));
  }

  hasClient(tenantId: string, clientId: string): boolean {
    return (
      this.store.hasTenant(tenantId) && this.store.listClients(tenantId).some((c) => sameId(c.id, clientId))
    );
  }

  /** Closes the server and every socket, held ones included. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private typedRoleId(tenantId: string, roleTypeId: string): string {
    const role = seeding(() => this.store.tenant(tenantId).roles.ofType(roleTypeId));
    if (!role) throw new Error(`tenant ${tenantId} has no role of type ${roleTypeId}`);
    return role.id;
  }

  private seedClient(tenantId: string, clientId: string, settings: ClientSettings): SeededClient {
    const { client, secret, value } = seeding(() =>
      this.store.createClient(tenantId, clientId, settings, {
        description: "Created in the portal",
        expiration: new Date(Date.now() + YEAR_MS).toISOString(),
      }),
    );
    return { clientId: client.id, secret: value, secretId: String(secret.id) };
  }

  private second = { start: 0, requests: 0 };

  private countForThisSecond(): void {
    const start = Math.floor(Date.now() / 1000);
    if (start !== this.second.start) this.second = { start, requests: 0 };
    this.second.requests++;
    this.stats.peakPerSecond = Math.max(this.stats.peakPerSecond, this.second.requests);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.stats.requests++;
    this.countForThisSecond();
    if (request.method === "PUT") this.stats.puts++;
    let body: string;
    try {
      body = await readBody(request);
    } catch {
      response.destroy();
      return;
    }
    const { answers, dripIntervalMs } = this.hostility;
    if (answers !== "honest") {
      this.stats.hostileBytesSent += await streamForever(response, answers, dripIntervalMs);
      return;
    }
    const fault = chooseFault(this.faults);
    if (fault) this.stats.injectedFailures++;
    const changes = request.method === "POST" || request.method === "DELETE";
    const reply =
      !fault || (fault === "lostResponse" && changes)
        ? this.route({
            method: request.method ?? "GET",
            url: new URL(request.url ?? "/", this.baseUrl),
            headers: request.headers,
            body,
          })
        : injected(fault, this.faults.retryAfterSeconds);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    if (fault === "timeout") return;
    if (fault === "drop" || fault === "lostResponse" || response.destroyed) {
      response.destroy();
      return;
    }
    send(response, reply);
  }

  private route(incoming: Incoming): Reply {
    try {
      const path = incoming.url.pathname;
      if (path === DISCOVERY_PATH) return discovery(this.baseUrl, this.hostility.tokenEndpoint);
      if (this.hostility.endlessPages && incoming.method === "GET" && /\/Secrets\/?$/i.test(path))
        return { status: 200, ...endlessSecretsPage(incoming.url) };
      if (path === TOKEN_PATH) return token(this.store, incoming);
      return api(this.store, incoming, { deletionDelayMs: this.faults.deletionDelayMs });
    } catch (error) {
      // A bug in the simulator: say so in the answer rather than on the console.
      return errorReply(500, "Simulator error", String(error), "Fix the OCS simulator.");
    }
  }
}

/** A seeding mistake is the test's: throw it with the reason, not as an HTTP answer. */
function seeding<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof ApiError) throw new Error(`${error.message}: ${error.reason}`);
    throw error;
  }
}
