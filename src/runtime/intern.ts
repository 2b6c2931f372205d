/**
 * One copy of each repeated string in the caches. JSON.parse makes a new string for every value,
 * so ten thousand cached objects hold ten thousand copies of "rotor.dev/v1alpha1", of each
 * condition message, and several of each owner's uid (in its labels, its owner reference, the
 * issuer's record). Interning them costs a table entry each and saves the copies.
 *
 * Callers intern the fields that repeat (labels, annotations, owner references, spec, status),
 * not those unique to one object (resourceVersions, digests). The table is bounded: when it is
 * full it starts again (a later copy is then kept twice: only memory, never a wrong answer).
 */
const MAX_ENTRIES = 200_000;
/** Longer strings are rarely repeated (descriptions, certificates): not worth an entry. */
const MAX_LENGTH = 512;

let table = new Map<string, string>();

export function intern(value: string): string {
  if (value.length > MAX_LENGTH) return value;
  const known = table.get(value);
  if (known !== undefined) return known;
  if (table.size >= MAX_ENTRIES) table = new Map();
  table.set(value, value);
  return value;
}

/** A copy of a JSON value with every string (values and keys' values, not keys) interned. */
export function internAll<T>(value: T): T {
  if (typeof value === "string") return intern(value) as T;
  if (Array.isArray(value)) return value.map(internAll) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) copy[key] = internAll(inner);
    return copy as T;
  }
  return value;
}
