/**
 * Go-style durations ("90m", "2160h", "1h30m"), the format Kubernetes users know from
 * cert-manager and from `metav1.Duration`. The same grammar is enforced by the CRD pattern and
 * evaluated by CEL's `duration()` in the API server, so what admission accepts, Rotor parses.
 */

/** RE2 and ECMAScript agree on this pattern; it is the CRD's `pattern` verbatim. */
export const DURATION_PATTERN = "^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const durationRegex = new RegExp(DURATION_PATTERN);
const termRegex = /([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)/g;

/** Milliseconds in a Go duration string; throws on anything admission would refuse. */
export function parseDuration(text: string): number {
  if (!durationRegex.test(text)) {
    throw new Error(`invalid duration "${text}": use a Go duration such as 90m, 24h or 1h30m`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(termRegex)) {
    total += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return Math.round(total);
}

/** A compact Go-style rendering (`1h30m0s` becomes `1h30m`), for messages and events. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0s";
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (seconds || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join("");
}

/** RFC 3339 in whole seconds (`2027-02-25T10:00:00Z`), as Kubernetes shows times. */
export function isoSeconds(date: Date | number): string {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z");
}
