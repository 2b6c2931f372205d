/** What a reconcile reports besides the status: notices kept across its two decisions. */
import type { Notice } from "./model.ts";

/**
 * The notices of a reconcile that applied a plan: those of the plan it carried out (an expiry
 * revoked under live pods must stay reported after the revocation), then the fresh decision's
 * that say something new.
 */
export function mergeNotices(applied: readonly Notice[], fresh: readonly Notice[]): Notice[] {
  return [...applied, ...fresh.filter((n) => !applied.some((m) => m.reason === n.reason))];
}
