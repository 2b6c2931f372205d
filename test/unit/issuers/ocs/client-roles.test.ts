/**
 * Roles at an OCS tenant over real HTTP against the simulator, whose role ids differ per tenant:
 * what the issuer check reports, which roles a created client gets, and when the tenant's roles
 * are read again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientRolesSpec } from "../../../../src/api/issuer.ts";
import { IssuerError } from "../../../../src/issuers/issuer.ts";
import { OcsIssuer } from "../../../../src/issuers/ocs/issuer.ts";
import { OcsSimulator } from "../../../simulator/ocs/server.ts";
import { ocsTenant } from "../../../support/ocs.ts";

let sim: OcsSimulator;
let tenantId: string;
let admin: { clientId: string; secret: string };

beforeAll(async () => {
  sim = await OcsSimulator.start();
  tenantId = sim.addTenant();
  admin = sim.addAdminClient(tenantId);
  sim.addRole(tenantId, { name: "Readers" });
});
afterAll(() => sim.stop());

const as = (client: { clientId: string; secret: string }) => ({
  mode: "admin" as const,
  credential: async () => ({ clientId: client.clientId, secret: client.secret }),
});
const issuer = (clientRoles: ClientRolesSpec = {}) =>
  new OcsIssuer(ocsTenant(sim, tenantId, { clientRoles }), as(admin));
const role = (name: string) => ({ id: sim.roleId(tenantId, name), name });
const in2h = () => new Date(Date.now() + 2 * 3600_000);

describe("the OCS issuer check", () => {
  it("authenticates, and says which roles created clients get", async () => {
    const result = await issuer({ allowed: [{ name: "Readers" }] }).check();
    expect(result).toMatchObject({ ok: true, reason: "Authenticated" });
    expect(result.clientRoles).toMatchObject({
      ok: true,
      reason: "Resolved",
      defaults: [role("Tenant Member")],
    });
    expect(result.clientRoles?.message).toContain(
      `may also ask for "Readers" (${sim.roleId(tenantId, "Readers")})`,
    );
  });

  it("is Forbidden for an administrator client without the Tenant Administrator role, and names its roles, not it", async () => {
    const member = sim.addClient(tenantId);
    const result = await new OcsIssuer(ocsTenant(sim, tenantId), as(member)).check();
    expect(result).toMatchObject({ ok: false, reason: "Forbidden" });
    expect(result.message).toContain(`lacks the Tenant Administrator role (it has "Tenant Member"`);
    expect(result.message).not.toContain(member.clientId);
  });

  it("reports a tenant it may not read as TenantNotFound (AVEVA answers 403 for both)", async () => {
    const other = sim.addTenant();
    const result = await new OcsIssuer(ocsTenant(sim, other), as(admin)).check();
    expect(result).toMatchObject({ ok: false, reason: "TenantNotFound" });
    expect(result.message).toContain(`tenant ${other} was not found`);
  });

  it("stays Ready with a role it cannot find, and says so in clientRoles", async () => {
    const result = await issuer({ default: [{ name: "Nobody" }] }).check();
    expect(result).toMatchObject({ ok: true, reason: "Authenticated" });
    expect(result.clientRoles).toMatchObject({ ok: false, reason: "RoleNotFound" });
  });
});

describe("the roles of a client the OCS issuer creates", () => {
  it("are the Member role and the defaults, given at creation", async () => {
    const ocs = issuer({ default: [{ name: "Readers" }] });
    const roles = await ocs.clientRoles([]);
    expect(roles).toEqual([role("Tenant Member"), role("Readers")]);
    const clientId = crypto.randomUUID();
    await ocs.createClient({
      clientId,
      name: "with roles",
      roleIds: roles.map((r) => r.id),
      ownerUid: "uid",
      firstSecret: { description: "first", expiration: in2h() },
    });
    expect(sim.clientRoleIds(tenantId, clientId).sort()).toEqual(roles.map((r) => r.id).sort());
  });

  it("are read once for many clients, and again before a role is reported missing", async () => {
    const later = crypto.randomUUID();
    const tenant = ocsTenant(sim, tenantId, {
      clientRoles: { allowed: [{ name: "Readers" }, { id: later }] },
    });
    const ocs = new OcsIssuer(tenant, as(admin));
    const readers = sim.roleId(tenantId, "Readers");
    await expect(ocs.clientRoles([readers])).resolves.toEqual([role("Tenant Member"), role("Readers")]);
    const requests = sim.stats.requests;
    await ocs.clientRoles([readers]);
    await ocs.clientRoles([]);
    expect(sim.stats.requests).toBe(requests);

    // A role that is nowhere is an error that says so, after one more read.
    const error = await ocs.clientRoles([later]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IssuerError);
    expect((error as Error).message).toContain(`names role id ${later}, which the tenant does not have`);
    expect(sim.stats.requests).toBeGreaterThan(requests);

    // Once the tenant has it, the next creation finds it by reading again.
    sim.addRole(tenantId, { id: later, name: "Later" });
    await expect(ocs.clientRoles([later])).resolves.toEqual([
      role("Tenant Member"),
      { id: later, name: "Later" },
    ]);
  });
});
