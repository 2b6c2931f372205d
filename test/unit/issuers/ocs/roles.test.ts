import { describe, expect, it } from "vitest";
import type { ClientRolesSpec } from "../../../../src/api/issuer.ts";
import {
  defaultRoles,
  MEMBER_ROLE_TYPE_ID,
  RoleError,
  rolesFor,
  type TenantRole,
} from "../../../../src/issuers/ocs/roles.ts";

const ADMIN_TYPE = "2dc742ab-39ea-4fc9-b6ea-b3f8ea2b8ef0";
const member: TenantRole = {
  id: "11111111-1111-4111-8111-111111111111",
  name: "Tenant Member",
  roleTypeId: MEMBER_ROLE_TYPE_ID,
};
const admin: TenantRole = {
  id: "22222222-2222-4222-8222-222222222222",
  name: "Tenant Administrator",
  roleTypeId: ADMIN_TYPE,
};
const readers: TenantRole = {
  id: "33333333-3333-4333-8333-333333333333",
  name: "Readers",
  roleTypeId: undefined,
};
const writers: TenantRole = {
  id: "44444444-4444-4444-8444-444444444444",
  name: "Writers",
  roleTypeId: undefined,
};
const tenant = [admin, member, readers, writers];
const named = (...roles: TenantRole[]) => roles.map((r) => ({ id: r.id, name: r.name }));

function refusal(run: () => unknown): RoleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RoleError);
    return error as RoleError;
  }
  throw new Error("expected a RoleError");
}

describe("the roles a created client gets", () => {
  const granted: Array<[string, string[], ClientRolesSpec, TenantRole[]]> = [
    ["no roles asked, no defaults: the Member role alone", [], {}, [member]],
    [
      "no roles asked: the issuer's defaults, with the Member role first",
      [],
      { default: [{ name: "Readers" }] },
      [member, readers],
    ],
    ["defaults by id, in any case", [], { default: [{ id: readers.id.toUpperCase() }] }, [member, readers]],
    [
      "a default named in another case, when no name fits exactly",
      [],
      { default: [{ name: "readers" }] },
      [member, readers],
    ],
    [
      "the Member role listed as a default is given once",
      [],
      { default: [{ name: "Tenant Member" }] },
      [member],
    ],
    ["asked for the Member role", [member.id], {}, [member]],
    [
      "asked for a default role: the Member role is added",
      [readers.id],
      { default: [{ name: "Readers" }] },
      [member, readers],
    ],
    [
      "asked for an allowed role: only what was asked, with the Member role",
      [writers.id],
      { default: [{ name: "Readers" }], allowed: [{ id: writers.id }] },
      [member, writers],
    ],
    [
      "asked twice for one role",
      [writers.id, writers.id.toUpperCase()],
      { allowed: [{ name: "Writers" }] },
      [member, writers],
    ],
    [
      "asked for an allowed role while a default and another allowed role are missing from the tenant",
      [writers.id],
      {
        default: [{ name: "Auditors" }],
        allowed: [{ name: "Writers" }, { id: "66666666-6666-4666-8666-666666666666" }],
      },
      [member, writers],
    ],
  ];
  it.each(granted)("%s", (_, requested, policy, expected) => {
    expect(rolesFor(requested, policy, tenant)).toEqual(named(...expected));
  });

  const refused: Array<[string, string[], ClientRolesSpec, TenantRole[], RoleError["reason"], string]> = [
    [
      "the Tenant Administrator role, which the issuer does not allow",
      [admin.id],
      {},
      tenant,
      "RoleNotAllowed",
      `asks for role "Tenant Administrator" (${admin.id}), which the issuer does not give: it grants "Tenant Member"`,
    ],
    [
      "a custom role the issuer does not list",
      [writers.id],
      { default: [{ name: "Readers" }] },
      tenant,
      "RoleNotAllowed",
      "Ask the issuer's owner to list the role in spec.ocs.clientRoles.allowed",
    ],
    [
      "a role id the tenant does not have",
      ["55555555-5555-4555-8555-555555555555"],
      { allowed: [{ name: "Writers" }] },
      tenant,
      "RoleNotFound",
      "spec.roleIds names role id 55555555-5555-4555-8555-555555555555, which the tenant does not have",
    ],
    [
      "a default the tenant does not have",
      [],
      { default: [{ name: "Auditors" }] },
      tenant,
      "RoleNotFound",
      `spec.ocs.clientRoles.default names role "Auditors", which the tenant does not have`,
    ],
    [
      "a role whose allowing entry names a role the tenant does not have",
      [writers.id],
      { allowed: [{ id: "66666666-6666-4666-8666-666666666666" }] },
      tenant,
      "RoleNotAllowed",
      `asks for role "Writers" (${writers.id}), which the issuer does not give`,
    ],
    [
      "a tenant without a Member role",
      [],
      {},
      [admin, readers],
      "RoleNotFound",
      `no roles of the Member type (RoleTypeId ${MEMBER_ROLE_TYPE_ID})`,
    ],
    [
      "a tenant with two Member roles",
      [],
      {},
      [member, { ...readers, roleTypeId: MEMBER_ROLE_TYPE_ID }],
      "AmbiguousRole",
      "2 roles of the Member type",
    ],
    [
      "a name two roles fit in other cases",
      [],
      { default: [{ name: "writers" }] },
      [member, writers, { ...readers, name: "WRITERS" }],
      "AmbiguousRole",
      "fits 2 roles of the tenant",
    ],
  ];
  it.each(refused)("refuses %s", (_, requested, policy, roles, reason, message) => {
    const error = refusal(() => rolesFor(requested, policy, roles));
    expect(error.reason).toBe(reason);
    expect(error.kind).toBe("Rejected");
    expect(error.message).toContain(message);
  });

  it("prefers the exact name to one that fits in another case", () => {
    const lower = { ...writers, id: "77777777-7777-4777-8777-777777777777", name: "readers" };
    expect(defaultRoles({ default: [{ name: "readers" }] }, [member, readers, lower])).toEqual(
      named(member, lower),
    );
  });
});
