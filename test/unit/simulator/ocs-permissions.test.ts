/**
 * Who may do what at the simulated identity API, as AVEVA's "Authorization: Allowed for these
 * roles" tables say: any client of the tenant (Tenant Member) reads the tenant, its roles and its
 * clients; a client itself ("Self") manages its own secrets; the Tenant Administrator does
 * everything in its tenant, and alone creates, changes and deletes clients and extends secrets.
 */
import { describe, expect, it } from "vitest";
import { call, expectErrorBody, secretBody, start, tokenFor } from "./ocs-helpers.ts";

describe("a client without the administrator role", () => {
  it("reads the tenant, its roles and every client of its tenant, as a Tenant Member", async () => {
    const { sim, tenant, tenantUrl, base } = await start();
    const client = sim.addClient(tenant);
    const other = sim.addClient(tenant, { name: "other" });
    const member = await tokenFor(sim, client);

    const listed = await call(base, member);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("total-count")).toBe("2");
    expect(listed.body.map((c: { Id: string }) => c.Id)).toEqual([client.clientId, other.clientId]);
    const read = await call(`${base}/${other.clientId}`, member);
    expect(read.body).toMatchObject({ Id: other.clientId, Name: "other" });
    expect((await call(`${base}/${other.clientId}`, member, "HEAD")).status).toBe(200);
    expect((await call(base, member, "HEAD")).headers.get("total-count")).toBe("2");
    // Allowed, so an absent client is simply not found.
    expect((await call(`${base}/${crypto.randomUUID()}`, member)).status).toBe(404);
    expect((await call(`${tenantUrl}/Roles`, member)).status).toBe(200);
    expect((await call(`${tenantUrl}/Roles/${sim.memberRoleId(tenant)}`, member)).status).toBe(200);
    expect((await call(tenantUrl, member)).status).toBe(200);
  });

  it("lists, reads, adds and deletes its own secrets, as Self", async () => {
    const { sim, tenant, base } = await start();
    const client = sim.addClient(tenant);
    const self = await tokenFor(sim, client);
    const own = `${base}/${client.clientId}`;

    const added = await call(`${own}/Secrets`, self, "POST", secretBody("next"));
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      Id: 2,
      Description: "next",
      Expires: true,
      Secret: expect.any(String),
    });
    expect((await call(`${own}/Secrets`, self)).body).toHaveLength(2);
    expect((await call(`${own}/Secrets`, self, "HEAD")).headers.get("total-count")).toBe("2");
    expect((await call(`${own}/Secrets/2`, self)).body.Description).toBe("next");
    expect((await call(`${own}/Secrets/2`, self, "HEAD")).status).toBe(200);
    expect((await call(`${own}/Secrets/${client.secretId}`, self, "DELETE")).status).toBe(204);
    expect(sim.secrets(tenant, client.clientId).map((s) => s.id)).toEqual(["2"]);
  });

  it("may not touch another client's secrets, change or delete any client, or extend a secret", async () => {
    const { sim, tenant, base } = await start();
    const client = sim.addClient(tenant);
    const other = sim.addClient(tenant);
    // A role that is not the Tenant Administrator's type gives no more, whatever its name.
    const custom = sim.addRole(tenant, { name: "Administrators" });
    const contributor = sim.roleId(tenant, "Tenant Contributor");
    const strong = sim.addClient(tenant, { roleIds: [custom, contributor] });
    const own = `${base}/${client.clientId}`;
    const settings = { Name: "renamed", RoleIds: [sim.memberRoleId(tenant)] };
    const extension = { Expiration: new Date(Date.now() + 7200_000).toISOString(), Expires: true };

    for (const credential of [client, strong]) {
      const token = await tokenFor(sim, credential);
      const mine = `${base}/${credential.clientId}`;
      for (const [url, method, body] of [
        [`${base}/${other.clientId}/Secrets`, "GET"],
        [`${base}/${other.clientId}/Secrets`, "POST", secretBody()],
        [`${base}/${other.clientId}/Secrets/${other.secretId}`, "GET"],
        [`${base}/${other.clientId}/Secrets/${other.secretId}`, "DELETE"],
        [`${base}/${crypto.randomUUID()}/Secrets`, "GET"],
        [`${mine}/Secrets/${credential.secretId}`, "PUT", extension],
        [base, "POST", { ...settings, SecretExpirationDate: extension.Expiration }],
        [mine, "PUT", settings],
        [mine, "DELETE"],
        [`${base}/${other.clientId}`, "PUT", settings],
        [`${base}/${other.clientId}`, "DELETE"],
      ] as const) {
        const refused = await call(url, token, method, body);
        expect([url, method, refused.status]).toEqual([url, method, 403]);
        expectErrorBody(refused);
      }
      const head = await call(`${base}/${other.clientId}/Secrets`, token, "HEAD");
      expect([head.status, head.text]).toEqual([403, ""]);
    }
    expect(sim.secrets(tenant, other.clientId)).toHaveLength(1);
    expect(sim.hasClient(tenant, client.clientId) && sim.hasClient(tenant, other.clientId)).toBe(true);
    expect((await call(own, await tokenFor(sim, client))).body.Name).not.toBe("renamed");
  });
});

describe("the tenant administrator", () => {
  it("is whoever holds the tenant's role of the Tenant Administrator type", async () => {
    const { sim, tenant, base } = await start();
    const adminRole = sim.roleId(tenant, "Tenant Administrator");
    const promoted = sim.addClient(tenant, { roleIds: [adminRole] });
    const other = sim.addClient(tenant);
    const token = await tokenFor(sim, promoted);
    expect((await call(`${base}/${other.clientId}/Secrets`, token)).status).toBe(200);
    const url = `${base}/${other.clientId}/Secrets/${other.secretId}`;
    const extended = await call(url, token, "PUT", {
      Expiration: new Date(Date.now() + 7200_000).toISOString(),
    });
    expect(extended.status).toBe(200);
    expect((await call(`${base}/${other.clientId}`, token, "DELETE")).status).toBe(204);

    // Without the role, the same client is a member again.
    sim.removeRole(tenant, adminRole);
    expect(sim.clientRoleIds(tenant, promoted.clientId)).toEqual([sim.memberRoleId(tenant)]);
    expect((await call(`${base}/${promoted.clientId}/Secrets`, token)).status).toBe(200);
    const third = sim.addClient(tenant);
    expect((await call(`${base}/${third.clientId}/Secrets`, token)).status).toBe(403);
  });

  it("answers 401 without a valid token, 403 in another tenant and 404 for an unknown tenant", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const other = sim.addTenant();
    const missing = await call(base, undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    const bogus = await call(base, "not-a-token");
    expect(bogus.status).toBe(401);
    expectErrorBody(bogus);
    for (const path of ["ClientCredentialClients", "Roles"]) {
      const foreign = await call(`${sim.url}/api/v1/Tenants/${other}/${path}`, admin);
      expect(foreign.status).toBe(403);
      expectErrorBody(foreign);
      const unknown = await call(`${sim.url}/api/v1/Tenants/${crypto.randomUUID()}/${path}`, admin);
      expect(unknown.status).toBe(404);
      expect(unknown.body.Error).toBe("Tenant not found");
    }
  });
});

describe("GET /api/v1/Tenants/{tenantId}", () => {
  it("answers a member of the tenant with the tenant, and HEAD with 204", async () => {
    const { sim, tenant, tenantUrl } = await start();
    const member = await tokenFor(sim, sim.addClient(tenant));
    const read = await call(tenantUrl, member);
    expect(read.status).toBe(200);
    expect(read.headers.get("content-type")).toBe("application/json");
    expect(read.body).toEqual({
      Id: tenant,
      CompanyName: expect.any(String),
      State: 1,
      Created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      LastUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      Alias: expect.any(String),
      Features: [],
      Entitlements: [],
      TenantType: expect.any(String),
    });
    expect((await call(`${tenantUrl}/`, member)).body.Id).toBe(tenant);
    const head = await call(tenantUrl, member, "HEAD");
    expect([head.status, head.text]).toEqual([204, ""]);
  });

  it("answers 403 without a body for another tenant and for one that does not exist; HEAD 404 for the latter", async () => {
    const { sim, tenant, tenantUrl } = await start();
    const other = sim.addTenant();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const stranger = await tokenFor(sim, sim.addAdminClient(other));
    const unknown = `${sim.url}/api/v1/Tenants/${crypto.randomUUID()}`;
    for (const [url, token, method, status] of [
      [tenantUrl, stranger, "GET", 403],
      [tenantUrl, stranger, "HEAD", 403],
      [unknown, admin, "GET", 403],
      [unknown, admin, "HEAD", 404],
    ] as const) {
      const refused = await call(url, token, method);
      expect([url, method, refused.status, refused.text]).toEqual([url, method, status, ""]);
      expect(refused.headers.get("content-type")).toBeNull();
      expect(refused.headers.get("operation-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("answers 401 to a missing or bad token and 405 to other methods", async () => {
    const { sim, tenant, tenantUrl } = await start();
    expect((await call(tenantUrl, undefined)).status).toBe(401);
    const bogus = await call(tenantUrl, "not-a-token");
    expect(bogus.status).toBe(401);
    expectErrorBody(bogus);
    const put = await call(tenantUrl, await tokenFor(sim, sim.addAdminClient(tenant)), "PUT", {});
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD");
  });
});
