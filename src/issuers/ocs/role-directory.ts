/**
 * The tenant's roles (`GET /api/v1/Tenants/{tenant}/Roles`, every page), read once for all the
 * clients an issuer creates in a while rather than once per client: roles change rarely, and
 * a role just created is found by reading again before anything is reported missing.
 */
import type { TenantApi } from "./api.ts";
import { readPages } from "./pages.ts";
import type { TenantRole } from "./roles.ts";

/** How long a read of the roles serves. */
const FRESH_MS = 5 * 60_000;
/** A tenant's roles are its few built-in ones and what its administrators added. */
const MAX_ROLES = 2000;
const PAGE_SIZE = 100;

export class RoleDirectory {
  private cached: { roles: TenantRole[]; at: number } | undefined;
  private reading: Promise<TenantRole[]> | undefined;

  /** The roles, read again when the last read is older than `maxAgeMs`. */
  async roles(api: TenantApi, signal: AbortSignal, maxAgeMs = FRESH_MS): Promise<TenantRole[]> {
    if (this.cached && Date.now() - this.cached.at < maxAgeMs) return this.cached.roles;
    // Callers at the same moment share one read.
    this.reading ??= this.read(api, signal).finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(api: TenantApi, signal: AbortSignal): Promise<TenantRole[]> {
    const at = Date.now();
    const items = await readPages(
      api,
      {
        path: "/Roles",
        what: `list the roles of tenant ${api.tenant.tenantId}`,
        pageSize: PAGE_SIZE,
        max: MAX_ROLES,
        noun: "roles",
        beyondMax: "where a tenant has a few dozen",
      },
      signal,
    );
    const roles = items.flatMap((item): TenantRole[] =>
      typeof item.Id === "string" && typeof item.Name === "string"
        ? [
            {
              id: item.Id,
              name: item.Name,
              roleTypeId: typeof item.RoleTypeId === "string" ? item.RoleTypeId : undefined,
            },
          ]
        : [],
    );
    this.cached = { roles, at };
    return roles;
  }
}
