/**
 * A tenant's roles. Every tenant has the same built-in roles, told apart by their fixed
 * RoleTypeId, but each under its own id: a client that hard-codes one tenant's role ids fails
 * at the next tenant, as it would at AVEVA. The list also holds a role of a community the tenant
 * belongs to, as AVEVA's "List Roles" says it does.
 */
import { randomUUID } from "node:crypto";
import { ApiError } from "./reply.ts";

/** The RoleTypeIds of the built-in roles, as AVEVA's sample library names them (Roles.py). */
export const ROLE_TYPE_IDS = {
  tenantAdministrator: "2dc742ab-39ea-4fc0-a39e-2bcb71c26a5f",
  tenantContributor: "f1439595-e5a2-487f-8a4f-0627fefe75df",
  tenantDataSteward: "45b66433-5f57-420b-bbdf-8bbd60c1cd9d",
  tenantMember: "7ad2b9ef-5386-4ead-ac9f-ad99c5c5b977",
  tenantViewer: "e6cbf91e-0be8-4858-92b5-f88ecafd5574",
  communityMember: "f79a55da-7c76-4600-a809-0f62ca9971d9",
} as const;

/** AVEVA's RoleScope enum: None 0, Tenant 1, Community 2, Cluster 3. */
export const ROLE_SCOPE = { tenant: 1, community: 2 } as const;

export interface RoleRecord {
  id: string;
  name: string;
  description: string;
  scope: (typeof ROLE_SCOPE)[keyof typeof ROLE_SCOPE];
  tenantId: string | null;
  communityId: string | null;
  /** Null for the roles a tenant's administrators add. */
  roleTypeId: string | null;
}

const BUILT_IN: Array<[name: string, typeId: string, description: string]> = [
  ["Tenant Administrator", ROLE_TYPE_IDS.tenantAdministrator, "Manages users, clients and secrets"],
  ["Tenant Contributor", ROLE_TYPE_IDS.tenantContributor, "Reads and writes data"],
  ["Tenant Data Steward", ROLE_TYPE_IDS.tenantDataSteward, "Manages data access"],
  ["Tenant Member", ROLE_TYPE_IDS.tenantMember, "Every user and client of the tenant"],
  ["Tenant Viewer", ROLE_TYPE_IDS.tenantViewer, "Reads data"],
];

const same = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();

export class TenantRoles {
  readonly tenantId: string;
  private readonly roles: RoleRecord[];

  constructor(tenantId: string) {
    this.tenantId = tenantId;
    const tenantRole = ([name, roleTypeId, description]: (typeof BUILT_IN)[number]): RoleRecord => ({
      id: randomUUID(),
      name,
      description,
      scope: ROLE_SCOPE.tenant,
      tenantId,
      communityId: null,
      roleTypeId,
    });
    this.roles = [
      ...BUILT_IN.map(tenantRole),
      {
        id: randomUUID(),
        name: "Community Member",
        description: "Member of a community the tenant joined",
        scope: ROLE_SCOPE.community,
        tenantId: null,
        communityId: randomUUID(),
        roleTypeId: ROLE_TYPE_IDS.communityMember,
      },
    ];
  }

  /** Built-in roles first, then the community's, then those added, oldest first. */
  list(): RoleRecord[] {
    return [...this.roles];
  }

  find(id: string): RoleRecord | undefined {
    return this.roles.find((r) => same(r.id, id));
  }

  get(id: string): RoleRecord {
    const role = this.find(id);
    if (!role)
      throw new ApiError(
        404,
        "Role or tenant not found",
        `Tenant ${this.tenantId} has no role ${id}.`,
        "List the tenant's roles.",
      );
    return role;
  }

  /** The tenant's own role of a built-in type, if it still has one. */
  ofType(roleTypeId: string): RoleRecord | undefined {
    return this.roles.find((r) => r.scope === ROLE_SCOPE.tenant && same(r.roleTypeId, roleTypeId));
  }

  /** A tenant role; like AVEVA, refuses an id or a name the tenant has already. */
  add(role: { name: string; description?: string; roleTypeId?: string; id?: string }): RoleRecord {
    const id = role.id ?? randomUUID();
    if (this.find(id) || this.roles.some((r) => r.name.toLowerCase() === role.name.toLowerCase()))
      throw new ApiError(
        302,
        "Role exists",
        `Tenant ${this.tenantId} has a role ${id} or "${role.name}" already.`,
        "Use another id and name.",
      );
    const added: RoleRecord = {
      id,
      name: role.name,
      description: role.description ?? "",
      scope: ROLE_SCOPE.tenant,
      tenantId: this.tenantId,
      communityId: null,
      roleTypeId: role.roleTypeId ?? null,
    };
    this.roles.push(added);
    return added;
  }

  remove(id: string): void {
    const role = this.get(id);
    this.roles.splice(this.roles.indexOf(role), 1);
  }

  /**
   * What a client's RoleIds must be: not empty, roles of this tenant (a community's role is not
   * the tenant's to give), and the Member role among them ("Member role is always required").
   */
  checkAssignment(roleIds: string[]): void {
    const invalid = (reason: string) =>
      new ApiError(400, "Invalid request", reason, "Correct RoleIds and send the request again.");
    if (roleIds.length === 0) throw invalid("RoleIds is empty: Member role is always required.");
    for (const id of roleIds) {
      const role = this.find(id);
      if (role?.scope !== ROLE_SCOPE.tenant) throw invalid(`Tenant ${this.tenantId} has no role ${id}.`);
    }
    const member = this.ofType(ROLE_TYPE_IDS.tenantMember);
    if (!member || !roleIds.some((id) => same(id, member.id)))
      throw invalid("Member role is always required.");
  }
}
