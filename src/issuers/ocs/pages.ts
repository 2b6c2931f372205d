/**
 * Reading a whole list from the identity API: pages of `skip` and `count`, until Total-Count is
 * reached, a short page says there is no more, or a bound. A tenant's URL may be chosen by
 * whoever writes a CredentialIssuer, so an endless list (a Total-Count of 10^9, pages that
 * never end) is never followed past the bound.
 */
import { IssuerError } from "../issuer.ts";
import type { TenantApi } from "./api.ts";

export interface ListRequest {
  /** Below `/api/v1/Tenants/{tenant}`, without a query. */
  path: string;
  what: string;
  pageSize: number;
  /** The most items read; past it the list is refused. */
  max: number;
  /** What the items are, plural, for the message. */
  noun: string;
  /** Why more than `max` items cannot be a tenant's answer, for the message. */
  beyondMax: string;
  /** What a 404 means here; default: the status is refused like any other. */
  notFound?: () => IssuerError;
}

export async function readPages(
  api: TenantApi,
  list: ListRequest,
  signal: AbortSignal,
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  for (let skip = 0; ; skip += list.pageSize) {
    const response = await api.call(
      { method: "GET", path: `${list.path}?skip=${skip}&count=${list.pageSize}`, what: list.what },
      signal,
    );
    if (response.status === 404 && list.notFound) throw list.notFound();
    api.expect(response, [200], list.what);
    const page = Array.isArray(response.body) ? (response.body as Array<Record<string, unknown>>) : [];
    const total = Number(response.headers.get("total-count"));
    const counted = response.headers.has("total-count") && Number.isFinite(total);
    if (items.length + page.length > list.max)
      throw new IssuerError(
        "Unavailable",
        `could not ${list.what}: the issuer lists more than ${list.max} ${list.noun}${counted ? ` (Total-Count ${total})` : ""} ${list.beyondMax}; Rotor stopped reading`,
      );
    items.push(...page.filter((item) => item !== null && typeof item === "object"));
    if ((counted && skip + page.length >= total) || page.length < list.pageSize) return items;
  }
}
