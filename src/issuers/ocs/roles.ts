/**
 * Which roles a client Rotor creates at a tenant gets. Role ids differ from tenant to tenant;
 * the Member role, which every client needs, is found by its fixed role type, as AVEVA's own
 * setup script finds it. A ClientCredential's spec.roleIds is a namespace's wish, so only the
 * Member role, the issuer's defaults and the roles its owner lists in clientRoles.allowed are
 * granted: no namespace can give its client Tenant Administrator and, with it, every other
 * team's clients. A role that cannot be found, or that two roles' names fit, is an error with
 * what to change — never a guess.
 */
import type { ClientRolesSpec, GrantedRole, RoleRef } from "../../api/issuer.ts";
import { describeRoles, IssuerError } from "../issuer.ts";
import { sameClientId as sameId } from "./api.ts";

/** The RoleTypeId of every tenant's Member role (AVEVA's sample-adh-setup_script-python). */
export const MEMBER_ROLE_TYPE_ID = "7ad2b9ef-5386-4ead-ac9f-ad99c5c5b977";

/** The RoleTypeId of every tenant's Tenant Administrator role (AVEVA's sample library). */
export const ADMINISTRATOR_ROLE_TYPE_ID = "2dc742ab-39ea-4fc0-a39e-2bcb71c26a5f";

/** A role as the tenant lists it. */
export interface TenantRole {
  id: string;
  name: string;
  roleTypeId: string | undefined;
}

export const isAdministratorRole = (role: TenantRole): boolean =>
  role.roleTypeId !== undefined && sameId(role.roleTypeId, ADMINISTRATOR_ROLE_TYPE_ID);

export type RoleProblem = "RoleNotFound" | "AmbiguousRole" | "RoleNotAllowed";

/** Why a client cannot get the roles it asks for; reported, never worked around. */
export class RoleError extends IssuerError {
  readonly reason: RoleProblem;

  constructor(reason: RoleProblem, message: string) {
    super("Rejected", message);
    this.reason = reason;
  }
}

/** `roles` named once each, in order, as granted. */
function unique(roles: GrantedRole[]): GrantedRole[] {
  const seen = new Set<string>();
  return roles
    .filter((r) => !seen.has(r.id.toLowerCase()) && seen.add(r.id.toLowerCase()))
    .map((r) => ({ id: r.id, name: r.name }));
}

/** The tenant's Member role: exactly one role of its type. */
export function memberRole(roles: TenantRole[]): TenantRole {
  const members = roles.filter(
    (r) => r.roleTypeId !== undefined && sameId(r.roleTypeId, MEMBER_ROLE_TYPE_ID),
  );
  if (members.length === 1) return members[0] as TenantRole;
  throw new RoleError(
    members.length === 0 ? "RoleNotFound" : "AmbiguousRole",
    `the tenant lists ${members.length === 0 ? "no" : members.length} role${members.length === 1 ? "" : "s"} of the Member type (RoleTypeId ${MEMBER_ROLE_TYPE_ID}), where every tenant has one: Rotor gives no client a role it has to guess`,
  );
}

/** The role `ref` names in the tenant; `field` says where the reference is, for messages. */
export function findRole(ref: RoleRef, roles: TenantRole[], field: string): TenantRole {
  if (ref.id !== undefined) {
    const id = ref.id;
    const role = roles.find((r) => sameId(r.id, id));
    if (!role)
      throw new RoleError("RoleNotFound", `${field} names role id ${id}, which the tenant does not have`);
    return role;
  }
  const name = ref.name ?? "";
  const exact = roles.filter((r) => r.name === name);
  const matches = exact.length > 0 ? exact : roles.filter((r) => r.name.toLowerCase() === name.toLowerCase());
  if (matches.length === 1) return matches[0] as TenantRole;
  throw matches.length === 0
    ? new RoleError("RoleNotFound", `${field} names role "${name}", which the tenant does not have`)
    : new RoleError(
        "AmbiguousRole",
        `${field} names role "${name}", which fits ${matches.length} roles of the tenant (${matches.map((r) => r.id).join(", ")}): name it by id`,
      );
}

/** What a client gets when its ClientCredential lists no roles: the Member role and the defaults. */
export function defaultRoles(policy: ClientRolesSpec, roles: TenantRole[]): GrantedRole[] {
  const defaults = (policy.default ?? []).map((ref) => findRole(ref, roles, "spec.ocs.clientRoles.default"));
  return unique([memberRole(roles), ...defaults]);
}

/** The roles a client gets for `requested` (spec.roleIds), or a RoleError. */
export function rolesFor(requested: string[], policy: ClientRolesSpec, roles: TenantRole[]): GrantedRole[] {
  if (requested.length === 0) return defaultRoles(policy, roles);
  // A default or allowed role the tenant lacks allows nothing, and blocks no other request: the
  // issuer's ClientRoles condition reports it to its owner.
  const allowed: GrantedRole[] = [
    memberRole(roles),
    ...[...(policy.default ?? []), ...(policy.allowed ?? [])].flatMap((ref) => {
      try {
        return [findRole(ref, roles, "spec.ocs.clientRoles")];
      } catch (error) {
        if (error instanceof RoleError) return [];
        throw error;
      }
    }),
  ];
  const asked = requested.map((id) => {
    const role = findRole({ id }, roles, "spec.roleIds");
    if (!allowed.some((r) => sameId(r.id, role.id)))
      throw new RoleError(
        "RoleNotAllowed",
        `spec.roleIds asks for role "${role.name}" (${role.id}), which the issuer does not give: it grants ${describeRoles(unique(allowed))}. Ask the issuer's owner to list the role in spec.ocs.clientRoles.allowed`,
      );
    return role;
  });
  return unique([memberRole(roles), ...asked]);
}
