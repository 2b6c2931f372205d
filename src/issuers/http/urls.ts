/**
 * Where credentials may go. Administrator secrets, bootstrap secrets, initial access tokens and
 * every newly minted secret are sent to an issuer's endpoints, and bearer tokens (and minted
 * values in the answers) cross the connection to the issuer's URL. So: plain http only to
 * loopback, and an endpoint that a discovery document (or a spec field beside the issuer's URL)
 * names only on the issuer URL's own origin — a discovery document (or whoever answers in its
 * place) must not be able to send secrets elsewhere. Each rule can be lifted for the whole of
 * Rotor by a flag, never by a tenant's spec.
 */
import { IssuerError } from "../issuer.ts";

export interface UrlPolicy {
  /** --allow-insecure-issuer-urls: plain http to hosts other than loopback. */
  allowInsecure: boolean;
  /** --allow-foreign-token-endpoints: an endpoint on another origin than the issuer's URL. */
  allowForeignTokenEndpoint: boolean;
}

export const STRICT: UrlPolicy = { allowInsecure: false, allowForeignTokenEndpoint: false };

/** Why Rotor will not send credentials to a URL; the issuer's Ready reason. */
export class UrlRefused extends IssuerError {
  readonly reason: "InsecureUrl" | "ForeignTokenEndpoint";

  constructor(reason: UrlRefused["reason"], message: string) {
    super("Rejected", message);
    this.reason = reason;
  }
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const INSECURE_FLAG =
  "Rotor allows plain http only to loopback, or everywhere with its flag --allow-insecure-issuer-urls";

/** Throws UrlRefused when `url` (the spec field `field`, e.g. spec.ocs.url) may not carry credentials. */
export function checkIssuerUrl(url: string, policy: UrlPolicy, field: string): void {
  const parsed = new URL(url);
  if (parsed.protocol === "http:" && !isLoopback(parsed.hostname) && !policy.allowInsecure)
    throw new UrlRefused(
      "InsecureUrl",
      `${field} uses plain http to ${parsed.host}: tokens and secrets would cross the network unencrypted. Use https (${INSECURE_FLAG})`,
    );
}

/** How messages about one endpoint read. */
export interface EndpointNaming {
  /** Who names the endpoint: "the discovery document names", "spec.oauth2.registrationEndpoint is". */
  source: string;
  /** What it is: "token endpoint". */
  endpoint: string;
  /** The spec field of the issuer's URL: "spec.ocs.url". */
  baseField: string;
  /** What to do about a foreign one, ending with the flag that would allow it. */
  advice: string;
}

/**
 * Throws UrlRefused when `endpoint` may not receive secrets: plain http to a host that is not
 * loopback, or another origin than `base` (the issuer's URL).
 */
export function checkSameOrigin(
  endpoint: string,
  base: string,
  policy: UrlPolicy,
  what: EndpointNaming,
): void {
  const target = new URL(endpoint);
  const issuer = new URL(base);
  if (target.protocol === "http:" && !isLoopback(target.hostname) && !policy.allowInsecure)
    throw new UrlRefused(
      "InsecureUrl",
      `${what.source} a plain-http ${what.endpoint} on ${target.host}: secrets would cross the network unencrypted, so Rotor sends none (it allows plain http only to loopback, or everywhere with its flag --allow-insecure-issuer-urls)`,
    );
  if (target.origin !== issuer.origin && !policy.allowForeignTokenEndpoint)
    throw new UrlRefused(
      "ForeignTokenEndpoint",
      `${what.source} a ${what.endpoint} on ${target.protocol}//${target.host}, not on ${what.baseField}'s ${issuer.protocol}//${issuer.host}: Rotor sends secrets only to the issuer's own host, so it sends none. ${what.advice}`,
    );
}
