/**
 * The OCS issuer against the simulator over real HTTP: what it asks the tenant for, and how
 * the tenant's answers become IssuerErrors the controller acts on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssuerError } from "../../../../src/issuers/issuer.ts";
import {
  MAX_LISTED_SECRETS,
  type OcsAuth,
  OcsIssuer,
  type OcsTenant,
} from "../../../../src/issuers/ocs/issuer.ts";
import { TokenSource } from "../../../../src/issuers/ocs/tokens.ts";
import { ENDLESS_TOTAL_COUNT, OcsSimulator } from "../../../simulator/ocs/server.ts";
import { startSecretCollector } from "../../../support/issuers.ts";
import { ocsTenant } from "../../../support/ocs.ts";

let sim: OcsSimulator;
let tenantId: string;
let admin: { clientId: string; secret: string };

beforeAll(async () => {
  sim = await OcsSimulator.start();
  tenantId = sim.addTenant();
  admin = sim.addAdminClient(tenantId);
});
afterAll(() => sim.stop());

const tenant = (overrides: Partial<OcsTenant> = {}, at: OcsSimulator = sim): OcsTenant =>
  ocsTenant(at, tenantId, overrides);

const asAdmin = (secret = admin.secret): OcsAuth => ({
  mode: "admin",
  credential: async () => ({ clientId: admin.clientId, secret }),
});
const in2h = () => new Date(Date.now() + 2 * 3600_000);

async function failure(promise: Promise<unknown>): Promise<IssuerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IssuerError);
  return error as IssuerError;
}

const OWNER = "11111111-1111-4111-8111-111111111111";

describe("OcsIssuer with an administrator client", () => {
  it("creates a client with its first secret, which works at the discovered token endpoint", async () => {
    const issuer = new OcsIssuer(tenant(), asAdmin());
    const clientId = crypto.randomUUID();
    const first = await issuer.createClient({
      clientId,
      name: "orders",
      roleIds: [sim.memberRoleId(tenantId)],
      ownerUid: OWNER,
      firstSecret: { description: "orders (rotor:x:1)", expiration: in2h() },
    });
    expect(issuer.tokenUrl).toBe(`${sim.url}/identity/connect/token`);
    expect(first.description).toBe("orders (rotor:x:1)");
    expect(await issuer.verify(clientId, first.value)).toEqual({ ok: true });
    expect(await issuer.clientExists(clientId)).toBe(true);
    // The owner is recorded at the tenant: nothing in a namespace can claim the client.
    expect(await issuer.clientOwner(clientId)).toBe(OWNER);
    expect(await issuer.listSecrets(clientId)).toEqual([
      { id: first.id, description: first.description, expiration: expect.any(String) },
    ]);
    const taken = await failure(
      issuer.createClient({
        clientId,
        name: "again",
        roleIds: [sim.memberRoleId(tenantId)],
        ownerUid: OWNER,
        firstSecret: { description: "x", expiration: in2h() },
      }),
    );
    expect(taken.kind).toBe("ClientExists");
    await issuer.deleteClient(clientId);
    expect(await issuer.clientExists(clientId)).toBe(false);
  });

  it("lists every page, following Total-Count", async () => {
    const client = sim.addClient(tenantId);
    for (let i = 0; i < 6; i++) sim.addSecret(tenantId, client.clientId, { description: `s${i}` });
    const issuer = new OcsIssuer(tenant(), asAdmin(), { pageSize: 3 });
    const listed = await issuer.listSecrets(client.clientId);
    expect(listed.map((s) => s.id).sort()).toEqual(
      sim
        .secrets(tenantId, client.clientId)
        .map((s) => s.id)
        .sort(),
    );
    expect(listed).toHaveLength(7);
  });

  it("turns the 400 at the limit of 10 into SlotsExhausted", async () => {
    const client = sim.addClient(tenantId);
    for (let i = 1; i < 10; i++) sim.addSecret(tenantId, client.clientId);
    const issuer = new OcsIssuer(tenant(), asAdmin());
    const full = await failure(
      issuer.mintSecret(client.clientId, { description: "one more", expiration: in2h() }),
    );
    expect(full.kind).toBe("SlotsExhausted");
    expect(sim.secrets(tenantId, client.clientId)).toHaveLength(10);
  });

  it("reports a client that does not exist as ClientNotFound, and revoking in it as done", async () => {
    const issuer = new OcsIssuer(tenant(), asAdmin());
    const missing = crypto.randomUUID();
    expect((await failure(issuer.listSecrets(missing))).kind).toBe("ClientNotFound");
    expect((await failure(issuer.mintSecret(missing, { description: "x", expiration: in2h() }))).kind).toBe(
      "ClientNotFound",
    );
    await issuer.revokeSecret(missing, "1");
  });

  it("reuses its token until it nears expiry", async () => {
    const issuer = new OcsIssuer(tenant(), asAdmin());
    const client = sim.addClient(tenantId);
    await issuer.listSecrets(client.clientId);
    const issued = sim.stats.tokensIssued;
    for (let i = 0; i < 5; i++) await issuer.listSecrets(client.clientId);
    expect(sim.stats.tokensIssued).toBe(issued);
  });

  it("never extends a secret: no PUT, whatever it does", () => {
    expect(sim.stats.puts).toBe(0);
  });

  it("says why in check(): bad credentials, unknown tenant, unreachable host", async () => {
    expect(await new OcsIssuer(tenant(), asAdmin()).check()).toMatchObject({
      ok: true,
      reason: "Authenticated",
    });
    const bad = await new OcsIssuer(tenant(), asAdmin("wrong")).check();
    expect(bad).toMatchObject({ ok: false, reason: "BadCredentials" });
    expect(bad.message).not.toContain("wrong");
    expect(await new OcsIssuer(tenant({ tenantId: crypto.randomUUID() }), asAdmin()).check()).toMatchObject({
      ok: false,
      reason: "TenantNotFound",
    });
    const member = sim.addClient(tenantId);
    const notAdmin = await new OcsIssuer(tenant(), {
      mode: "admin",
      credential: async () => ({ clientId: member.clientId, secret: member.secret }),
    }).check();
    expect(notAdmin).toMatchObject({ ok: false, reason: "Forbidden" });
    const unreachable = tenant();
    const away = new OcsIssuer(
      {
        ...unreachable,
        url: "http://127.0.0.1:9",
        tokens: new TokenSource(unreachable.http, "http://127.0.0.1:9"),
      },
      asAdmin(),
    );
    expect(await away.check()).toMatchObject({ ok: false, reason: "Unreachable" });
  });
});

describe("OcsIssuer with self authentication", () => {
  it("authenticates as the client with the first of its secrets that works, and rotates itself", async () => {
    const client = sim.addClient(tenantId);
    const issuer = new OcsIssuer(tenant(), {
      mode: "self",
      clientId: client.clientId,
      secrets: async () => ["revoked-or-wrong", client.secret],
    });
    const minted = await issuer.mintSecret(client.clientId, { description: "mine", expiration: in2h() });
    expect(await issuer.verify(client.clientId, minted.value)).toEqual({ ok: true });
    await issuer.revokeSecret(client.clientId, client.secretId);
    expect((await issuer.listSecrets(client.clientId)).map((s) => s.id)).toEqual([minted.id]);
  });

  it("cannot create clients, and cannot touch another client", async () => {
    const client = sim.addClient(tenantId);
    const other = sim.addClient(tenantId);
    const issuer = new OcsIssuer(tenant(), {
      mode: "self",
      clientId: client.clientId,
      secrets: async () => [client.secret],
    });
    const create = await failure(
      issuer.createClient({
        clientId: crypto.randomUUID(),
        name: "x",
        roleIds: [sim.memberRoleId(tenantId)],
        ownerUid: OWNER,
        firstSecret: { description: "x", expiration: in2h() },
      }),
    );
    expect(create.message).toContain("auth.self cannot create clients");
    const foreign = await failure(issuer.listSecrets(other.clientId));
    expect(foreign.kind).toBe("Rejected");
    expect(foreign.message).toContain("403");
  });

  it("reports a client none of whose secrets works, without showing them", async () => {
    const client = sim.addClient(tenantId);
    const issuer = new OcsIssuer(tenant(), {
      mode: "self",
      clientId: client.clientId,
      secrets: async () => ["nope-nope"],
    });
    const error = await failure(issuer.listSecrets(client.clientId));
    expect(error.kind).toBe("Rejected");
    expect(error.message).toContain("could not authenticate");
    expect(error.message).not.toContain("nope-nope");
  });
});

describe("OcsIssuer and the administrator's own client", () => {
  it("never lists, mints, revokes, verifies or deletes for the client it authenticates as", async () => {
    const issuer = new OcsIssuer(tenant(), asAdmin());
    const before = sim.secrets(tenantId, admin.clientId);
    for (const id of [admin.clientId, admin.clientId.toUpperCase()]) {
      for (const call of [
        issuer.listSecrets(id),
        issuer.mintSecret(id, { description: "x", expiration: in2h() }),
        issuer.revokeSecret(id, before[0]?.id ?? "1"),
        issuer.deleteClient(id),
        issuer.clientExists(id),
      ]) {
        const error = await failure(call);
        expect(error.kind).toBe("Rejected");
        expect(error.message).toContain("is the administrator client this issuer authenticates as");
      }
      expect(await issuer.verify(id, admin.secret)).toMatchObject({ ok: false, permanent: false });
    }
    expect(sim.secrets(tenantId, admin.clientId)).toEqual(before);
    expect(sim.hasClient(tenantId, admin.clientId)).toBe(true);
  });

  it("keeps the administrator's client id out of what check() and failed calls say", async () => {
    const results = [
      await new OcsIssuer(tenant(), asAdmin()).check(),
      await new OcsIssuer(tenant(), asAdmin("wrong")).check(),
    ];
    expect(results.map((r) => r.reason)).toEqual(["Authenticated", "BadCredentials"]);
    const refused = await failure(new OcsIssuer(tenant(), asAdmin("wrong")).listSecrets(crypto.randomUUID()));
    const down = tenant({ url: "http://127.0.0.1:9" });
    const unreachable = await failure(
      new OcsIssuer(
        { ...down, tokens: new TokenSource(down.http, "http://127.0.0.1:9") },
        asAdmin(),
      ).listSecrets(crypto.randomUUID()),
    );
    for (const message of [...results.map((r) => r.message), refused.message, unreachable.message]) {
      expect(message.toLowerCase()).not.toContain(admin.clientId.toLowerCase());
      expect(message).not.toContain(admin.secret);
    }
    expect(refused.message).toContain("the administrator client could not authenticate");
  });
});

describe("OcsIssuer toward a tenant URL that wants to hurt Rotor", () => {
  it("sends no secret to a token endpoint the discovery document puts on another origin", async () => {
    const collector = await startSecretCollector();
    const hostile = await OcsSimulator.start();
    try {
      const hostileTenant = hostile.addTenant(tenantId);
      const hostAdmin = hostile.addAdminClient(hostileTenant);
      hostile.setHostility({ tokenEndpoint: collector.url });
      const at = tenant({}, hostile);
      const issuer = new OcsIssuer(at, {
        mode: "admin",
        credential: async () => ({ clientId: hostAdmin.clientId, secret: hostAdmin.secret }),
      });
      const check = await issuer.check();
      expect(check).toMatchObject({ ok: false, reason: "ForeignTokenEndpoint" });
      expect(check.message).toContain(collector.url.replace(/\/connect\/token$/, ""));
      expect((await failure(issuer.listSecrets(crypto.randomUUID()))).message).toContain(
        "Rotor sends secrets only to the issuer's own host",
      );
      expect(await issuer.verify(crypto.randomUUID(), "a-new-secret")).toMatchObject({ ok: false });
      const selfIssuer = new OcsIssuer(at, {
        mode: "self",
        clientId: hostAdmin.clientId,
        secrets: async () => ["bootstrap"],
      });
      await failure(selfIssuer.mintSecret(hostAdmin.clientId, { description: "x", expiration: in2h() }));
      expect(collector.requests()).toBe(0);
      expect(collector.secretsReceived()).toBe(0);
      expect(at.tokens.knownEndpoint).toBeUndefined();
    } finally {
      await hostile.stop();
      await collector.stop();
    }
  });

  it("sends nothing over plain http to a host other than loopback", async () => {
    const url = "http://ocs.example.invalid";
    const at = tenant({ url });
    const issuer = new OcsIssuer({ ...at, tokens: new TokenSource(at.http, url) }, asAdmin());
    const check = await issuer.check();
    expect(check).toMatchObject({ ok: false, reason: "InsecureUrl" });
    expect(check.message).toContain("--allow-insecure-issuer-urls");
    expect((await failure(issuer.listSecrets(crypto.randomUUID()))).kind).toBe("Rejected");
  });

  it(`reads at most ${MAX_LISTED_SECRETS} secrets of a list whose Total-Count and pages never end`, async () => {
    const hostile = await OcsSimulator.start();
    try {
      const hostileTenant = hostile.addTenant(tenantId);
      const hostAdmin = hostile.addAdminClient(hostileTenant);
      const client = hostile.addClient(hostileTenant);
      hostile.setHostility({ endlessPages: true });
      const issuer = new OcsIssuer(tenant({}, hostile), {
        mode: "admin",
        credential: async () => ({ clientId: hostAdmin.clientId, secret: hostAdmin.secret }),
      });
      const requests = hostile.stats.requests;
      const error = await failure(issuer.listSecrets(client.clientId));
      expect(error.message).toContain(
        `the issuer lists more than ${MAX_LISTED_SECRETS} secrets (Total-Count ${ENDLESS_TOTAL_COUNT})`,
      );
      // Discovery, a token, and the pages up to the bound: not one more.
      expect(hostile.stats.requests - requests).toBe(2 + MAX_LISTED_SECRETS / 100 + 1);
    } finally {
      await hostile.stop();
    }
  });
});
