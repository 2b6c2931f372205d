/**
 * The embedded issuer's signing keys as data, and the pure decision of what they should be.
 *
 * A key set holds the `current` key (signs tokens), the `next` key (published in the JWKS, not
 * yet used: verifiers that cache the JWKS already know it when it starts signing) and `retired`
 * public keys (no longer signing; published until every token they signed has expired).
 * Rotation promotes `next` to `current` once the current key has signed, and the next key has
 * been published, for `rotateAfterMs` each; a new `next` is made at the same moment.
 *
 * Stored in one Secret: `keys.json` (the whole set) and `key.jwk` (the current key alone, the
 * format of Rotor versions before key rotation, kept so a downgrade still signs with it).
 *
 * A Secret Rotor cannot use (not JSON, not an EC P-256 private key, a private part that does not
 * match its public part, …) is never a reason to stop: each unusable part is reported in
 * `problems` (fixed texts, never the content) and replaced — from the keys this replica already
 * holds when it has them, else by new keys.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
} from "node:crypto";
import type { JWK } from "jose";

export const ALG = "ES256";
export const KEYSET_DATA_KEY = "keys.json";
export const LEGACY_DATA_KEY = "key.jwk";
/** Retired keys kept at most (a very short rotation period must not grow the JWKS forever). */
export const MAX_RETIRED = 10;

export interface KeyEntry {
  /** The private JWK (with kid, alg, use). */
  jwk: JWK;
  /** When it started signing (current) or was first published (next). */
  since: string;
}

export interface RetiredKey {
  /** The public JWK. */
  jwk: JWK;
  retiredAt: string;
}

export interface KeySet {
  current: KeyEntry;
  next: KeyEntry;
  retired: RetiredKey[];
}

export interface KeyPolicy {
  /** How long a key signs (and its successor is published first); 0: never rotate. */
  rotateAfterMs: number;
  /** How long a retired key stays published: at least the longest token lifetime. */
  keepRetiredMs: number;
}

export interface KeyPlan {
  keys: KeySet;
  /** Whether the Secret must be (re)written. */
  write: boolean;
  /** What was wrong with the stored keys, for a log line and an event. */
  problems: string[];
  /** Whether `next` was promoted to `current`. */
  rotated: boolean;
  /** Where the current key came from: the Secret, this replica's memory, or newly made. */
  currentFrom: "stored" | "held" | "new";
}

/** A fresh ES256 key pair as a private JWK. */
export function generateJwk(): JWK {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...(privateKey.export({ format: "jwk" }) as JWK), kid: randomUUID(), alg: ALG, use: "sig" };
}

export function publicJwk(jwk: JWK): JWK {
  const { d: _private, ...rest } = jwk;
  return rest;
}

/** Why this is not a usable ES256 private key, or undefined when it is. */
export function privateKeyProblem(value: unknown): string | undefined {
  const jwk = value as JWK | undefined;
  if (!jwk || typeof jwk !== "object") return "is not a JSON object";
  if (jwk.kty !== "EC" || jwk.crv !== "P-256") return "is not an EC P-256 key";
  if (typeof jwk.kid !== "string" || jwk.kid === "" || jwk.kid.length > 128) return "has no usable kid";
  if (typeof jwk.d !== "string") return "has no private part";
  try {
    // Node keeps x and y as given, so only a signature shows whether d belongs to them.
    const privateKey = createPrivateKey({ key: jwk as never, format: "jwk" });
    const publicKey = createPublicKey({ key: publicJwk(jwk) as never, format: "jwk" });
    const probe = Buffer.from("rotor signing-key probe");
    if (!verify("sha256", probe, publicKey, sign("sha256", probe, privateKey)))
      return "has a private part that does not match its public part";
  } catch {
    return "is not a valid key";
  }
  return undefined;
}

function publicKeyProblem(value: unknown): string | undefined {
  const jwk = value as JWK | undefined;
  if (!jwk || typeof jwk !== "object" || jwk.kty !== "EC" || jwk.crv !== "P-256")
    return "is not an EC P-256 key";
  if (typeof jwk.kid !== "string" || jwk.kid === "") return "has no usable kid";
  if ("d" in jwk) return "holds a private part";
  try {
    createPublicKey({ key: jwk as never, format: "jwk" });
  } catch {
    return "is not a valid key";
  }
  return undefined;
}

const validTime = (value: unknown): value is string =>
  typeof value === "string" && !Number.isNaN(Date.parse(value));

function decodeJson(base64: string | undefined): { value?: unknown; present: boolean } {
  if (base64 === undefined) return { present: false };
  try {
    return { value: JSON.parse(Buffer.from(base64, "base64").toString("utf8")), present: true };
  } catch {
    return { present: true };
  }
}

interface Parsed {
  current?: KeyEntry;
  next?: KeyEntry;
  retired: RetiredKey[];
  problems: string[];
}

/** Reads a Secret's data (base64 values), keeping every usable part. */
export function parseStored(data: Record<string, string> | undefined): Parsed {
  const problems: string[] = [];
  const parsed: Parsed = { retired: [], problems };
  const set = decodeJson(data?.[KEYSET_DATA_KEY]);
  const stored = set.value as Partial<Record<keyof KeySet, unknown>> | undefined;
  if (set.present && (!stored || typeof stored !== "object")) problems.push(`${KEYSET_DATA_KEY} is not JSON`);
  else if (stored) {
    for (const slot of ["current", "next"] as const) {
      const entry = stored[slot] as Partial<KeyEntry> | undefined;
      const problem =
        privateKeyProblem(entry?.jwk) ?? (validTime(entry?.since) ? undefined : "has no valid time");
      if (problem) problems.push(`the ${slot} key in ${KEYSET_DATA_KEY} ${problem}`);
      else parsed[slot] = entry as KeyEntry;
    }
    const retired = Array.isArray(stored.retired) ? (stored.retired as Partial<RetiredKey>[]) : [];
    if (stored.retired !== undefined && !Array.isArray(stored.retired))
      problems.push(`the retired keys in ${KEYSET_DATA_KEY} are not a list`);
    for (const entry of retired) {
      const problem =
        publicKeyProblem(entry?.jwk) ?? (validTime(entry?.retiredAt) ? undefined : "has no valid time");
      if (problem) problems.push(`a retired key in ${KEYSET_DATA_KEY} ${problem}`);
      else parsed.retired.push(entry as RetiredKey);
    }
  }
  // key.jwk: the current key of a Secret from before key rotation, else a copy of keys.json's.
  const legacy = decodeJson(data?.[LEGACY_DATA_KEY]);
  if (legacy.present) {
    const problem = legacy.value === undefined ? "is not JSON" : privateKeyProblem(legacy.value);
    if (problem) problems.push(`${LEGACY_DATA_KEY} ${problem}`);
    else if (!parsed.current) parsed.current = { jwk: legacy.value as JWK, since: "" };
  }
  return parsed;
}

/**
 * What the key set should be now, given the Secret's data (undefined: no Secret), the keys this
 * replica holds (if any) and the policy. `generate` makes a new private JWK.
 */
export function planKeys(
  data: Record<string, string> | undefined,
  held: KeySet | undefined,
  now: Date,
  policy: KeyPolicy,
  generate: () => JWK = generateJwk,
): KeyPlan {
  const at = now.toISOString();
  const parsed = parseStored(data);
  const problems = parsed.problems;
  let write = data === undefined || problems.length > 0;

  // A deleted Secret means "start over" (e.g. after a key leaked): the held keys are not restored.
  const restore = data !== undefined ? held : undefined;
  let currentFrom: KeyPlan["currentFrom"] = "stored";
  let current: KeyEntry;
  if (parsed.current && parsed.current.since === "") {
    // From key.jwk alone: when it started signing is unknown, so its period starts now.
    const heldCurrent = restore?.current;
    const since = heldCurrent?.jwk.kid === parsed.current.jwk.kid ? (heldCurrent?.since ?? at) : at;
    current = { jwk: parsed.current.jwk, since };
    write = true;
  } else if (parsed.current) {
    current = parsed.current;
  } else {
    if (data !== undefined && problems.length === 0) problems.push("the Secret holds no signing key");
    current = restore?.current ?? { jwk: generate(), since: at };
    currentFrom = restore ? "held" : "new";
    write = true;
  }
  let next: KeyEntry;
  if (parsed.next && parsed.next.jwk.kid !== current.jwk.kid) {
    next = parsed.next;
  } else {
    const heldNext = restore?.next;
    next = heldNext && heldNext.jwk.kid !== current.jwk.kid ? heldNext : { jwk: generate(), since: at };
    write = true;
  }
  const inUse = new Set([current.jwk.kid, next.jwk.kid]);
  let retired = parsed.retired.filter((r) => !inUse.has(r.jwk.kid));
  if (restore && problems.length > 0)
    retired = mergeRetired(
      retired,
      restore.retired.filter((r) => !inUse.has(r.jwk.kid)),
    );

  let rotated = false;
  const age = (since: string) => now.getTime() - Date.parse(since);
  if (
    policy.rotateAfterMs > 0 &&
    age(current.since) >= policy.rotateAfterMs &&
    age(next.since) >= policy.rotateAfterMs
  ) {
    retired = [{ jwk: publicJwk(current.jwk), retiredAt: at }, ...retired];
    current = { jwk: next.jwk, since: at };
    next = { jwk: generate(), since: at };
    rotated = true;
    write = true;
  }
  const kept = retired
    .filter((r) => age(r.retiredAt) < policy.keepRetiredMs)
    .sort((a, b) => Date.parse(b.retiredAt) - Date.parse(a.retiredAt))
    .slice(0, MAX_RETIRED);
  if (kept.length !== parsed.retired.length) write = true;
  const mirror = decodeJson(data?.[LEGACY_DATA_KEY]).value as JWK | undefined;
  if (mirror?.kid !== current.jwk.kid || mirror?.d !== current.jwk.d) write = true;
  return { keys: { current, next, retired: kept }, write, problems, rotated, currentFrom };
}

function mergeRetired(a: RetiredKey[], b: RetiredKey[]): RetiredKey[] {
  const seen = new Set(a.map((r) => r.jwk.kid));
  return [...a, ...b.filter((r) => !seen.has(r.jwk.kid))];
}

/** The Secret's data (base64) for a key set. */
export function encodeKeys(keys: KeySet): Record<string, string> {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");
  return { [KEYSET_DATA_KEY]: b64(keys), [LEGACY_DATA_KEY]: b64(keys.current.jwk) };
}

/** The public keys to publish: current, next and the retired ones still verifying tokens. */
export function publishedKeys(keys: KeySet): JWK[] {
  return [publicJwk(keys.current.jwk), publicJwk(keys.next.jwk), ...keys.retired.map((r) => r.jwk)];
}
