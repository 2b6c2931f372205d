/**
 * The embedded issuer's self-managed CA as data, and the decision of what it should be now.
 *
 * One Secret holds the `current` CA (signs the serving certificate), an optional `next` CA and
 * the serving certificate. Workloads get the CA bundle — current and next — in their target
 * Secrets (`ca.crt`), so a CA is trusted long before it signs anything:
 *
 * - the next CA is made once the current one has lived half its life;
 * - it takes over when a sixth of the current CA's life is left (so it has been published for
 *   a third of a CA's life by then), and the serving certificate is issued again at once;
 * - the serving certificate is renewed when a third of its life is left, when it was not
 *   signed by the current CA, or when the hosts it must name changed; it never outlives its CA.
 *
 * A part of the Secret that Rotor cannot use (not PEM, a key that does not match, a serving
 * certificate its CA did not sign) is reported in `problems` (fixed texts, never the content)
 * and replaced: from what this replica holds when it can, else made anew.
 */
import { X509Certificate } from "node:crypto";
import { pairProblem } from "../../runtime/tls.ts";
import { certificateHosts, issueServing, type KeyPair, makeCa } from "./certificates.ts";

export const CA_CERT_KEY = "ca.crt";
const DATA_KEYS = {
  ca: { cert: CA_CERT_KEY, key: "ca.key" },
  next: { cert: "next-ca.crt", key: "next-ca.key" },
  serving: { cert: "tls.crt", key: "tls.key" },
} as const;

export interface AuthorityState {
  ca: KeyPair;
  next: KeyPair | undefined;
  serving: KeyPair;
}

export interface AuthorityPolicy {
  caValidityMs: number;
  servingValidityMs: number;
  /** The DNS names and IP addresses the serving certificate names. */
  hosts: string[];
}

export const DEFAULT_CA_VALIDITY_MS = 365 * 24 * 3600_000;
export const DEFAULT_SERVING_VALIDITY_MS = 30 * 24 * 3600_000;

export interface AuthorityPlan {
  state: AuthorityState;
  /** Whether the Secret must be (re)written. */
  write: boolean;
  /** What was wrong with the stored parts, for a log line and an event. */
  problems: string[];
  /** What changed and why, for the log. */
  changes: string[];
}

export interface CertificateMaker {
  makeCa: typeof makeCa;
  issueServing: typeof issueServing;
}

const lifeOf = (cert: X509Certificate) => Date.parse(cert.validTo) - Date.parse(cert.validFrom);

/** Whether the current CA should get a successor published beside it. */
export function successorDue(ca: X509Certificate, now: Date): boolean {
  return now.getTime() >= Date.parse(ca.validFrom) + lifeOf(ca) / 2;
}

/** Whether the next CA should take over signing. */
export function handoverDue(ca: X509Certificate, now: Date): boolean {
  return now.getTime() >= Date.parse(ca.validTo) - lifeOf(ca) / 6;
}

/** Why the serving certificate must be issued again, or undefined when it may stay. */
export function servingRenewalReason(
  serving: X509Certificate,
  ca: X509Certificate,
  hosts: string[],
  now: Date,
): string | undefined {
  if (!serving.checkIssued(ca) || !serving.verify(ca.publicKey)) return "it was not signed by the current CA";
  if (now.getTime() >= Date.parse(serving.validTo) - lifeOf(serving) / 3)
    return "a third of its life is left";
  const named = new Set(certificateHosts(serving));
  if (hosts.length !== named.size || hosts.some((host) => !named.has(host)))
    return "the hosts it must name changed";
  return undefined;
}

/** The CA bundle workloads trust: the current CA and, once published, the next one. */
export function caBundle(state: AuthorityState): string {
  return [state.ca.cert, state.next?.cert]
    .filter((cert): cert is string => cert !== undefined)
    .map((cert) => cert.trim())
    .join("\n")
    .concat("\n");
}

function caProblem(pair: KeyPair): string | undefined {
  const problem = pairProblem(pair.cert, pair.key);
  if (problem) return problem;
  if (!new X509Certificate(pair.cert).ca) return "the certificate is not a CA";
  return undefined;
}

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

interface Parsed {
  ca?: KeyPair;
  next?: KeyPair;
  serving?: KeyPair;
  problems: string[];
}

/** Reads a Secret's data (base64 values), keeping every usable part. */
export function parseAuthority(data: Record<string, string> | undefined): Parsed {
  const parsed: Parsed = { problems: [] };
  for (const part of ["ca", "next", "serving"] as const) {
    const cert = decode(data?.[DATA_KEYS[part].cert]);
    const key = decode(data?.[DATA_KEYS[part].key]);
    if (cert === undefined && key === undefined) continue;
    const pair = { cert: cert ?? "", key: key ?? "" };
    const problem = part === "serving" ? pairProblem(pair.cert, pair.key) : caProblem(pair);
    if (problem) parsed.problems.push(`${DATA_KEYS[part].cert}/${DATA_KEYS[part].key}: ${problem}`);
    else parsed[part] = pair;
  }
  return parsed;
}

const expired = (pair: KeyPair, now: Date) =>
  now.getTime() >= Date.parse(new X509Certificate(pair.cert).validTo);

/**
 * What the CA and serving certificate should be now, given the Secret's data (undefined: no
 * Secret), what this replica holds (if anything) and the policy.
 */
export async function planAuthority(
  data: Record<string, string> | undefined,
  held: AuthorityState | undefined,
  now: Date,
  policy: AuthorityPolicy,
  maker: CertificateMaker = { makeCa, issueServing },
): Promise<AuthorityPlan> {
  const parsed = parseAuthority(data);
  const { problems } = parsed;
  const changes: string[] = [];
  let write = data === undefined || problems.length > 0;
  // A deleted Secret means "start over" (e.g. after a key leaked): what is held is not restored.
  const restore = data !== undefined ? held : undefined;

  let ca = parsed.ca;
  if (!ca) {
    if (data !== undefined && problems.length === 0) problems.push("the Secret holds no CA");
    ca = restore?.ca;
    if (ca) changes.push("restored the CA this replica holds");
  }
  let next = parsed.next?.cert !== ca?.cert ? parsed.next : undefined;
  if (!next && parsed.next === undefined && problems.length > 0 && restore?.next?.cert !== ca?.cert)
    next = restore?.next;
  if (ca && expired(ca, now)) {
    changes.push("the CA expired");
    ca = undefined;
  }
  if (!ca) {
    ca = next && !expired(next, now) ? next : await maker.makeCa(now, policy.caValidityMs);
    changes.push(ca === next ? "the next CA took over" : "made a new CA");
    if (ca === next) next = undefined;
  } else if (next && handoverDue(new X509Certificate(ca.cert), now)) {
    ca = next;
    next = undefined;
    changes.push("the next CA took over: a sixth of the current CA's life is left");
  }
  if (!next && successorDue(new X509Certificate(ca.cert), now)) {
    next = await maker.makeCa(now, policy.caValidityMs);
    changes.push("published the next CA: the current CA has lived half its life");
  }

  const caCert = new X509Certificate(ca.cert);
  let serving: KeyPair | undefined;
  for (const candidate of [parsed.serving, restore?.serving]) {
    if (!candidate) continue;
    const reason = servingRenewalReason(new X509Certificate(candidate.cert), caCert, policy.hosts, now);
    if (!reason) {
      serving = candidate;
      if (candidate !== parsed.serving) changes.push("restored the serving certificate this replica holds");
      break;
    }
    if (candidate === parsed.serving) changes.push(`renewed the serving certificate: ${reason}`);
  }
  if (!serving) {
    const notAfter = Math.min(now.getTime() + policy.servingValidityMs, Date.parse(caCert.validTo));
    serving = await maker.issueServing(ca, policy.hosts, now, new Date(notAfter));
    if (!parsed.serving) changes.push("issued a serving certificate");
  }
  if (changes.length > 0) write = true;
  return { state: { ca, next, serving }, write, problems, changes };
}

/** The Secret's data (base64) for a state. */
export function encodeAuthority(state: AuthorityState): Record<string, string> {
  const data: Record<string, string> = {};
  for (const part of ["ca", "next", "serving"] as const) {
    const pair = state[part];
    if (!pair) continue;
    data[DATA_KEYS[part].cert] = Buffer.from(pair.cert).toString("base64");
    data[DATA_KEYS[part].key] = Buffer.from(pair.key).toString("base64");
  }
  return data;
}
