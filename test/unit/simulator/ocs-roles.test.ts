/**
 * Roles at the simulated tenant, as AVEVA documents them: the built-in roles under ids of each
 * tenant's own, found by their RoleTypeId; a community's role in the list; `GET .../Roles`
 * paged and filtered; and the RoleIds a client may be given ("Member role is always required").
 */
import { describe, expect, it } from "vitest";
import { OcsSimulator, ROLE_TYPE_IDS } from "../../simulator/ocs/server.ts";
import { call, expectErrorBody, inAnHour, start, tokenFor } from "./ocs-helpers.ts";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Role {
  Id: string;
  Name: string;
  RoleScope: number;
  TenantId: string | null;
  CommunityId: string | null;
  RoleTypeId: string | null;
}

describe("a tenant's roles", () => {
  it("are the built-in roles under ids of the tenant's own, and a community's role", async () => {
    const { sim, tenant, tenantUrl } = await start();
    const member = await tokenFor(sim, sim.addClient(tenant));
    const listed = await call(`${tenantUrl}/Roles`, member);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("total-count")).toBe("6");
    const tenantRole = (Name: string, RoleTypeId: string) => ({
      Id: expect.stringMatching(GUID),
      Name,
      Description: expect.any(String),
      RoleScope: 1,
      TenantId: tenant,
      CommunityId: null,
      RoleTypeId,
    });
    expect(listed.body).toEqual([
      tenantRole("Tenant Administrator", ROLE_TYPE_IDS.tenantAdministrator),
      tenantRole("Tenant Contributor", ROLE_TYPE_IDS.tenantContributor),
      tenantRole("Tenant Data Steward", ROLE_TYPE_IDS.tenantDataSteward),
      tenantRole("Tenant Member", ROLE_TYPE_IDS.tenantMember),
      tenantRole("Tenant Viewer", ROLE_TYPE_IDS.tenantViewer),
      {
        Id: expect.stringMatching(GUID),
        Name: "Community Member",
        Description: expect.any(String),
        RoleScope: 2,
        TenantId: null,
        CommunityId: expect.stringMatching(GUID),
        RoleTypeId: ROLE_TYPE_IDS.communityMember,
      },
    ]);
    const roles = listed.body as Role[];
    expect(roles.find((r) => r.Name === "Tenant Member")?.Id).toBe(sim.memberRoleId(tenant));
    expect(sim.roleId(tenant, "Tenant Viewer")).toBe(roles[4]?.Id);
    expect(() => sim.roleId(tenant, "Tenant member")).toThrow(/no role "Tenant member"/);

    // Another tenant, even at another simulator, has the same roles under other ids.
    const other = sim.addTenant();
    const elsewhere = await OcsSimulator.start();
    const far = elsewhere.addTenant();
    const ids = new Set([...roles.map((r) => r.Id), sim.memberRoleId(other), elsewhere.memberRoleId(far)]);
    await elsewhere.stop();
    expect(ids.size).toBe(8);
  });

  it("are paged with skip and count (100 unless told) and filtered by roleTypeId", async () => {
    const { sim, tenant, tenantUrl } = await start();
    for (let i = 0; i < 100; i++) sim.addRole(tenant, { name: `Custom ${i}`, description: `number ${i}` });
    const member = await tokenFor(sim, sim.addClient(tenant));

    const first = await call(`${tenantUrl}/Roles`, member);
    expect(first.headers.get("total-count")).toBe("106");
    expect(first.body).toHaveLength(100);
    const rest = await call(`${tenantUrl}/Roles?skip=100&count=10&query=ignored`, member);
    expect(rest.body.map((r: Role) => r.Name)).toEqual([
      "Custom 94",
      "Custom 95",
      "Custom 96",
      "Custom 97",
      "Custom 98",
      "Custom 99",
    ]);
    expect(rest.body[0]).toMatchObject({
      RoleScope: 1,
      TenantId: tenant,
      CommunityId: null,
      RoleTypeId: null,
    });

    const filtered = await call(
      `${tenantUrl}/Roles?roleTypeId=${ROLE_TYPE_IDS.tenantMember.toUpperCase()}`,
      member,
    );
    expect(filtered.headers.get("total-count")).toBe("1");
    expect(filtered.body.map((r: Role) => r.Id)).toEqual([sim.memberRoleId(tenant)]);
    const none = await call(`${tenantUrl}/Roles?roleTypeId=${crypto.randomUUID()}`, member);
    expect([none.body, none.headers.get("total-count")]).toEqual([[], "0"]);
  });

  it("answer GET and HEAD for one role, and 404 for a role the tenant does not have", async () => {
    const { sim, tenant, tenantUrl } = await start();
    const other = sim.addTenant();
    const member = await tokenFor(sim, sim.addClient(tenant));
    const id = sim.memberRoleId(tenant);
    const one = await call(`${tenantUrl}/Roles/${id.toUpperCase()}`, member);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ Id: id, Name: "Tenant Member", RoleTypeId: ROLE_TYPE_IDS.tenantMember });
    const head = await call(`${tenantUrl}/Roles/${id}`, member, "HEAD");
    expect([head.status, head.text, head.headers.get("content-length")]).toEqual([
      200,
      "",
      one.headers.get("content-length"),
    ]);
    const heads = await call(`${tenantUrl}/Roles`, member, "HEAD");
    expect([heads.status, heads.text, heads.headers.get("total-count")]).toEqual([200, "", "6"]);

    for (const absent of [crypto.randomUUID(), sim.memberRoleId(other)]) {
      const missing = await call(`${tenantUrl}/Roles/${absent}`, member);
      expect(missing.status).toBe(404);
      expect(missing.body.Error).toBe("Role or tenant not found");
      expectErrorBody(missing);
      const headMissing = await call(`${tenantUrl}/Roles/${absent}`, member, "HEAD");
      expect([headMissing.status, headMissing.text]).toEqual([404, ""]);
    }
  });
});

describe("the roles a client is given", () => {
  it("must be roles of its tenant and include the Member role, on creation and on PUT", async () => {
    const { sim, tenant, base } = await start();
    const other = sim.addTenant();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const memberRole = sim.memberRoleId(tenant);
    const contributor = sim.roleId(tenant, "Tenant Contributor");
    const community = sim.roleId(tenant, "Community Member");
    const creation = (RoleIds: string[] | undefined) => ({
      Name: "orders",
      RoleIds,
      SecretDescription: "first",
      SecretExpirationDate: inAnHour(),
    });
    for (const [roleIds, reason] of [
      [undefined, /Member role is always required/],
      [[], /Member role is always required/],
      [[contributor], /^Member role is always required/],
      [[memberRole, crypto.randomUUID()], /has no role/],
      [[sim.memberRoleId(other)], /has no role/],
      [[memberRole, community], /has no role/],
    ] as const) {
      const refused = await call(base, admin, "POST", creation(roleIds as string[] | undefined));
      expect([roleIds, refused.status]).toEqual([roleIds, 400]);
      expect(refused.body.Reason).toMatch(reason);
      expectErrorBody(refused);
    }
    expect((await call(base, admin)).headers.get("total-count")).toBe("1");

    const created = await call(base, admin, "POST", creation([memberRole.toUpperCase(), contributor]));
    expect(created.status).toBe(201);
    const url = `${base}/${created.body.Client.Id}`;
    expect(sim.clientRoleIds(tenant, created.body.Client.Id)).toEqual([
      memberRole.toUpperCase(),
      contributor,
    ]);
    const dropped = await call(url, admin, "PUT", { Name: "orders", RoleIds: [contributor] });
    expect(dropped.status).toBe(400);
    expect(dropped.body.Reason).toBe("Member role is always required.");
    const viewer = sim.roleId(tenant, "Tenant Viewer");
    const changed = await call(url, admin, "PUT", { Name: "orders", RoleIds: [memberRole, viewer] });
    expect([changed.status, changed.body.RoleIds]).toEqual([200, [memberRole, viewer]]);
    expect(sim.clientRoleIds(tenant, created.body.Client.Id)).toEqual([memberRole, viewer]);
  });

  it("follow the same rules when seeded", async () => {
    const { sim, tenant } = await start();
    const other = sim.addTenant();
    const admin = sim.addAdminClient(tenant);
    expect(sim.clientRoleIds(tenant, admin.clientId)).toEqual([
      sim.memberRoleId(tenant),
      sim.roleId(tenant, "Tenant Administrator"),
    ]);
    const custom = sim.addRole(tenant, { name: "Readers", roleTypeId: ROLE_TYPE_IDS.tenantViewer });
    const client = sim.addClient(tenant, { roleIds: [custom] });
    expect(sim.clientRoleIds(tenant, client.clientId)).toEqual([sim.memberRoleId(tenant), custom]);
    expect(() => sim.addClient(tenant, { roleIds: [sim.memberRoleId(other)] })).toThrow(/has no role/);
    expect(() => sim.addRole(tenant, { name: "readers" })).toThrow(/already/);
    expect(() => sim.addRole(tenant, { name: "Writers", id: custom })).toThrow(/already/);
    sim.removeRole(tenant, custom);
    expect(sim.clientRoleIds(tenant, client.clientId)).toEqual([sim.memberRoleId(tenant)]);
    expect(() => sim.removeRole(tenant, custom)).toThrow(/no role/);
    sim.removeRole(tenant, sim.memberRoleId(tenant));
    expect(() => sim.memberRoleId(tenant)).toThrow(/no role of type/);
    expect(() => sim.addClient(tenant)).toThrow(/no role of type/);
  });
});
