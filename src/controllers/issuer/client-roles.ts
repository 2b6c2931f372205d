/**
 * An OCS issuer with an administrator creates clients, and says in its `ClientRoles` condition
 * and `status.clientRoles` which roles they get, so that whoever owns the issuer sees a role
 * that is missing before a ClientCredential needs it. A check that failed earlier (the tenant
 * unreachable) leaves both as they were; an issuer that creates no clients has neither.
 */
import type { GrantedRole } from "../../api/issuer.ts";
import type { CheckResult } from "../../issuers/ocs/check.ts";
import { type Condition, setCondition } from "../../runtime/conditions.ts";

export const CLIENT_ROLES = "ClientRoles";

export interface ClientRolesReport {
  conditions: Condition[];
  /** null: removed (a merge patch); undefined: left as it was. */
  clientRoles: GrantedRole[] | null | undefined;
}

export function reportClientRoles(
  check: Pick<CheckResult, "ok" | "clientRoles">,
  conditions: Condition[],
  generation: number | undefined,
  now: Date,
): ClientRolesReport {
  const roles = check.clientRoles;
  if (!roles) {
    if (!check.ok) return { conditions, clientRoles: undefined };
    return { conditions: conditions.filter((c) => c.type !== CLIENT_ROLES), clientRoles: null };
  }
  return {
    conditions: setCondition(
      conditions,
      {
        type: CLIENT_ROLES,
        status: roles.ok ? "True" : "False",
        reason: roles.reason,
        message: roles.message,
      },
      generation,
      now,
    ),
    clientRoles: roles.ok ? roles.defaults : null,
  };
}
