/**
 * A stand-in for an OCS / AVEVA Data Hub region on a local port, for Rotor's tests: the identity
 * API's client credential clients and secrets, the token endpoint, and the faults a test switches
 * on. Tests seed tenants and clients directly, point Rotor at `url`, and check what Rotor did
 * through `stats` and `secrets()`. It logs nothing.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { api } from "./api.ts";
import { chooseFault, type FaultKind, type Faults, NO_FAULTS } from "./faults.ts";
import { endlessSecretsPage, HONEST, type Hostility, streamForever } from "./hostile.ts";
import { DISCOVERY_PATH, discovery, TOKEN_PATH, token } from "./identity.ts";
import { ApiError, errorReply, type Incoming, type Reply } from "./reply.ts";
import {
  type ClientSettings,
  DEFAULT_ACCESS_TOKEN_LIFETIME,
  type Stats,
  Store,
  sameId,
  TENANT_ADMINISTRATOR_ROLE_ID,
  TENANT_MEMBER_ROLE_ID,
} from "./store.ts";

export type { FaultKind, Faults } from "./faults.ts";
export { ENDLESS_TOTAL_COUNT, type Hostility } from "./hostile.ts";
export {
  MAX_DESCRIPTION_LENGTH,
  MAX_SECRETS_PER_CLIENT,
  TENANT_ADMINISTRATOR_ROLE_ID,
  TENANT_MEMBER_ROLE_ID,
} from "./store.ts";

/** How `secrets()` shows a secret that never expires. */
export const NEVER = "9999-12-31T23:59:59.999Z";
const MAX_BODY_BYTES = 1024 * 1024;
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

  addTenant(tenantId: string = randomUUID()): string {
    return this.store.addTenant(tenantId);
  }

  /** A client with the Tenant Administrator role, and one secret. */
  addAdminClient(tenantId: string): SeededClient {
    return this.seedClient(tenantId, randomUUID(), {
      name: "Administrator",
      enabled: true,
      accessTokenLifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
      roleIds: [TENANT_MEMBER_ROLE_ID, TENANT_ADMINISTRATOR_ROLE_ID],
      tags: [],
    });
  }

  /** A plain member client with one secret, as a person would create it in the portal. */
  addClient(
    tenantId: string,
    options: { clientId?: string; name?: string; accessTokenLifetime?: number } = {},
  ): SeededClient {
    const clientId = options.clientId ?? randomUUID();
    return this.seedClient(tenantId, clientId, {
      name: options.name ?? `Client ${clientId}`,
      enabled: true,
      accessTokenLifetime: options.accessTokenLifetime ?? DEFAULT_ACCESS_TOKEN_LIFETIME,
      roleIds: [TENANT_MEMBER_ROLE_ID],
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

/** The answer to a request that fails with an HTTP status (the other faults have no answer). */
function injected(fault: FaultKind, retryAfterSeconds: number): Reply {
  if (fault === "429")
    return errorReply(429, "Too many requests", "Injected by the simulator.", "Retry later.", {
      "retry-after": String(retryAfterSeconds),
    });
  if (fault === "503")
    return errorReply(503, "Service unavailable", "Injected by the simulator.", "Retry later.");
  return errorReply(500, "Internal server error", "Injected by the simulator.", "Retry later.");
}

function send(response: ServerResponse, reply: Reply): void {
  const json = reply.body !== undefined;
  response.writeHead(reply.status, {
    ...(json ? { "content-type": "application/json; charset=utf-8" } : {}),
    ...reply.headers,
  });
  response.end(json ? JSON.stringify(reply.body) : undefined);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
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
