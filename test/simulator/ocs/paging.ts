/**
 * Lists as AVEVA's identity API pages them: `skip` (default 0) over the whole list, `count`
 * (default 100) items from there, and the length of the whole list in `Total-Count`.
 */
import { ApiError, type Reply } from "./reply.ts";

/**
 * A guess: AVEVA's API reference gives no range for `count`; its Python sample library says
 * "between 1 and 1000 (inclusive)", and the simulator refuses anything else with 400.
 */
export const MAX_COUNT = 1000;

export function page(items: unknown[], url: URL): Reply {
  const skip = paging(url, "skip", 0);
  const count = paging(url, "count", 100);
  if (count < 1 || count > MAX_COUNT)
    throw new ApiError(400, "Invalid request", `count must be between 1 and ${MAX_COUNT}.`, "Correct count.");
  return {
    status: 200,
    headers: { "Total-Count": String(items.length) },
    body: items.slice(skip, skip + count),
  };
}

function paging(url: URL, name: string, fallback: number): number {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return fallback;
  if (!/^\d{1,9}$/.test(text))
    throw new ApiError(400, "Invalid request", `${name} must be a non-negative integer.`, `Correct ${name}.`);
  return Number(text);
}
