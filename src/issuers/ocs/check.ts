/**
 * Whether Rotor can work with a tenant: discovery (and where secrets would go), then, as
 * administrator, a token and one read of the tenant's clients. With auth.self there is nothing
 * to authenticate with here: each ClientCredential finds out with its own secret. The result is
 * the issuer's Ready condition and event, read by every namespace that may use the issuer, so
 * it never names the administrator's client id.
 */
import type { GrantedRole } from "../../api/issuer.ts";
import { describeRoles } from "../issuer.ts";
import { ADMINISTRATOR, type TenantApi } from "./api.ts";
import { errorDetail } from "./http.ts";
import { defaultRoles, findRole, RoleError, type RoleProblem, type TenantRole } from "./roles.ts";
import type { Credential } from "./tokens.ts";
import { UrlRefused } from "./urls.ts";

/** What clients Rotor creates at the tenant would get: the issuer's ClientRoles condition. */
export type RolesCheck =
  | { ok: true; reason: "Resolved"; message: string; defaults: GrantedRole[] }
  | { ok: false; reason: RoleProblem | "RolesUnreadable"; message: string };

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
      const what = `list the clients of tenant ${tenantId}`;
      const response = await api.call(
        { method: "GET", path: "/ClientCredentialClients?skip=0&count=1", what },
        signal,
      );
      if (response.status === 200)
        return {
          ok: true,
          reason: "Authenticated" as const,
          message: `authenticated to tenant ${tenantId} as ${ADMINISTRATOR}`,
          clientRoles: await checkRoles(api, signal),
        };
      if (response.status === 404)
        return failed(
          "TenantNotFound",
          `tenant ${tenantId} was not found at ${url}${errorDetail(response.body)}: check spec.ocs.tenantId and spec.ocs.url`,
        );
      if (response.status === 401 || response.status === 403)
        return failed(
          "Forbidden",
          `${ADMINISTRATOR} may not list the tenant's clients (${response.status}${errorDetail(response.body)}): it needs the Tenant Administrator role`,
        );
      return failed("Unreachable", `the issuer answered ${response.status} to: ${what}`);
    } catch (error) {
      if (error instanceof UrlRefused) return failed(error.reason, error.message);
      return failed("Unreachable", (error as Error).message);
    }
  }
}

/**
 * The roles clients created without spec.roleIds get, and every role the issuer allows, found in
 * the tenant. Read afresh: this also refreshes the roles that client creations use.
 */
async function checkRoles(api: TenantApi, signal: AbortSignal): Promise<RolesCheck> {
  const policy = api.tenant.clientRoles;
  let roles: TenantRole[];
  try {
    roles = await api.tenant.roles.roles(api, signal, 0);
  } catch (error) {
    return {
      ok: false,
      reason: "RolesUnreadable",
      message: `${(error as Error).message}: Rotor cannot tell which roles the clients it creates would get`,
    };
  }
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
