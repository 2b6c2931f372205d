/**
 * Whether Rotor can work with a tenant: discovery (and where secrets would go), then, as
 * administrator, a token, a read of the tenant (as AVEVA's samples check a token), the tenant's
 * roles, and whether the administrator holds the Tenant Administrator role — listing clients
 * needs only the Member role, so a refusal there would not tell. The roles also say what clients
 * Rotor creates would get (the ClientRoles condition). With auth.self there is nothing
 * to authenticate with here: each ClientCredential finds out with its own secret. The result is
 * the issuer's Ready condition and event, read by every namespace that may use the issuer, so
 * it never names the administrator's client id.
 */
import type { ClientRolesSpec, GrantedRole } from "../../api/issuer.ts";
import { errorDetail } from "../http/http.ts";
import { UrlRefused } from "../http/urls.ts";
import { describeRoles } from "../issuer.ts";
import { ADMINISTRATOR, sameClientId, type TenantApi } from "./api.ts";
import {
  defaultRoles,
  findRole,
  isAdministratorRole,
  RoleError,
  type RoleProblem,
  type TenantRole,
} from "./roles.ts";
import type { Credential } from "./tokens.ts";

/** What clients Rotor creates at the tenant would get: the issuer's ClientRoles condition. */
export type RolesCheck =
  | { ok: true; reason: "Resolved"; message: string; defaults: GrantedRole[] }
  | { ok: false; reason: RoleProblem; message: string };

export interface CheckResult {
  ok: boolean;
  reason:
    | "Authenticated"
    | "Reachable"
    | "Unreachable"
    | "CredentialsUnavailable"
    | "BadCredentials"
    | "TenantNotFound"
    | "Forbidden"
    | UrlRefused["reason"];
  message: string;
  /** With an administrator, whose clients get roles. */
  clientRoles?: RolesCheck;
}

export async function checkTenant(api: TenantApi): Promise<CheckResult> {
  const { tokens, tenantId, url, http } = api.tenant;
  const failed = (reason: CheckResult["reason"], message: string): CheckResult => ({
    ok: false,
    reason,
    message,
  });
  const signal = http.deadline();
  try {
    await tokens.tokenEndpoint(signal);
  } catch (error) {
    if (error instanceof UrlRefused) return failed(error.reason, error.message);
    return failed("Unreachable", (error as Error).message);
  }
  if (api.auth.mode === "self")
    return {
      ok: true,
      reason: "Reachable",
      message:
        "the tenant's discovery document answered; each ClientCredential authenticates with its own secret",
    };
  let credential: Credential;
  try {
    credential = (await api.credentials())[0] as Credential;
  } catch (error) {
    return failed("CredentialsUnavailable", (error as Error).message);
  }
  const result = await authenticate(api, credential, signal);
  // An answer may echo what it was sent; the administrator's id stays out all the same.
  return { ...result, message: withoutId(result.message, credential.clientId) };

  async function authenticate(api: TenantApi, credential: Credential, signal: AbortSignal) {
    try {
      const token = await tokens.request(credential, signal);
      if (!token.ok)
        return token.rejected
          ? failed(
              "BadCredentials",
              `the token endpoint refused administrator client credentials (${token.reason}): check the client id and secret in the administrator Secret`,
            )
          : failed("Unreachable", token.reason);
      const tenant = await readTenant(api, signal);
      if (tenant) return tenant;
      // Every client may read the tenant and list its roles; only an administrator can create
      // clients and manage other clients' secrets, so its own roles are what to look at.
      const roles = await api.tenant.roles.roles(api, signal, 0);
      const notAdministrator = await lacksAdministratorRole(api, credential.clientId, roles, signal);
      if (notAdministrator) return failed("Forbidden", notAdministrator);
      return {
        ok: true,
        reason: "Authenticated" as const,
        message: `authenticated to tenant ${tenantId} as ${ADMINISTRATOR}`,
        clientRoles: checkRoles(api.tenant.clientRoles, roles),
      };
    } catch (error) {
      if (error instanceof UrlRefused) return failed(error.reason, error.message);
      return failed("Unreachable", (error as Error).message);
    }
  }

  /** A failure when the tenant cannot be read, as AVEVA's samples check a token. */
  async function readTenant(api: TenantApi, signal: AbortSignal): Promise<CheckResult | undefined> {
    const what = `read tenant ${tenantId}`;
    const response = await api.call({ method: "GET", path: "", what }, signal);
    if (response.status === 200) return undefined;
    // AVEVA answers 403 both for a tenant that does not exist and for a client of another one.
    if (response.status === 403 || response.status === 404)
      return failed(
        "TenantNotFound",
        `tenant ${tenantId} was not found at ${url}, or ${ADMINISTRATOR} belongs to another tenant (${response.status}${errorDetail(response.body)}): check spec.ocs.tenantId, spec.ocs.url and the administrator Secret`,
      );
    api.expect(response, [200], what);
    return undefined;
  }
}

/** Why the administrator client cannot manage clients, or undefined when it can. */
async function lacksAdministratorRole(
  api: TenantApi,
  ownId: string,
  roles: TenantRole[],
  signal: AbortSignal,
): Promise<string | undefined> {
  const what = `read ${ADMINISTRATOR}'s roles`;
  const response = await api.call(
    { method: "GET", path: `/ClientCredentialClients/${encodeURIComponent(ownId)}`, what },
    signal,
  );
  api.expect(response, [200], what);
  const held = (response.body as { RoleIds?: unknown } | undefined)?.RoleIds;
  const ids = Array.isArray(held) ? held.filter((id): id is string => typeof id === "string") : [];
  const mine = roles.filter((role) => ids.some((id) => sameClientId(id, role.id)));
  if (mine.some((role) => isAdministratorRole(role))) return undefined;
  return `${ADMINISTRATOR} lacks the Tenant Administrator role (it has ${
    mine.length > 0 ? describeRoles(mine) : "no role the tenant lists"
  }): Rotor could neither create clients nor manage their secrets. Give it the role at the tenant (a change can take up to an hour to apply), or put a client that has it in the administrator Secret`;
}

/** The roles clients created without spec.roleIds get, and every role the issuer allows. */
function checkRoles(policy: ClientRolesSpec, roles: TenantRole[]): RolesCheck {
  try {
    const defaults = defaultRoles(policy, roles);
    const allowed = (policy.allowed ?? []).map((ref) => findRole(ref, roles, "spec.ocs.clientRoles.allowed"));
    return {
      ok: true,
      reason: "Resolved",
      defaults,
      message: `clients Rotor creates get ${describeRoles(defaults)} unless their ClientCredential lists roles${
        allowed.length > 0 ? `; a ClientCredential may also ask for ${describeRoles(allowed)}` : ""
      }`,
    };
  } catch (error) {
    if (!(error instanceof RoleError)) throw error;
    return {
      ok: false,
      reason: error.reason,
      message: `${error.message}: no client can be created for a ClientCredential until this is fixed (existing clients keep rotating)`,
    };
  }
}

/** `text` with every spelling of `id` (GUIDs: any case) replaced. */
export function withoutId(text: string, id: string): string {
  if (!id) return text;
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text.replace(new RegExp(escaped, "gi"), "[administrator client id]");
}
