/**
 * What `GET /api/v1/Tenants/{tenantId}` and `.../Roles[/{roleId}]` answer, once api.ts has
 * routed the request and checked that the caller belongs to the tenant.
 */
import { page } from "./paging.ts";
import type { Reply } from "./reply.ts";
import type { RoleRecord } from "./roles.ts";
import type { Tenant } from "./store.ts";

/** TenantWithProperties, as AVEVA's "Get Tenant" shows it; State 1 is Active. HEAD: 204, as documented. */
export function tenant(tenant: Tenant, method: string): Reply {
  if (method === "HEAD") return { status: 204 };
  return {
    status: 200,
    body: {
      Id: tenant.id,
      CompanyName: `Company of tenant ${tenant.id}`,
      State: 1,
      Created: tenant.created,
      LastUpdated: tenant.created,
      Alias: `tenant-${tenant.id.slice(0, 8).toLowerCase()}`,
      Features: [],
      Entitlements: [],
      TenantType: "Unlinked",
    },
  };
}

/** Every role of the tenant, a community's included; `roleTypeId` filters, `query` is "not supported". */
export function roles(tenant: Tenant, url: URL): Reply {
  const roleTypeId = url.searchParams.get("roleTypeId")?.toLowerCase();
  const listed = tenant.roles
    .list()
    .filter((r) => !roleTypeId || r.roleTypeId?.toLowerCase() === roleTypeId)
    .map(roleJson);
  return page(listed, url);
}

export function role(tenant: Tenant, roleId: string): Reply {
  return { status: 200, body: roleJson(tenant.roles.get(roleId)) };
}

const roleJson = (role: RoleRecord) => ({
  Id: role.id,
  Name: role.name,
  Description: role.description,
  RoleScope: role.scope,
  TenantId: role.tenantId,
  CommunityId: role.communityId,
  RoleTypeId: role.roleTypeId,
});
