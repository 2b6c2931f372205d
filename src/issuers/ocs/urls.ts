/**
 * Where credentials may go. The administrator's secret, a bootstrap secret and every newly
 * minted secret are sent to the token endpoint, and bearer tokens (and minted values in the
 * answers) cross the connection to spec.ocs.url. So: plain http only to loopback, and the token
 * endpoint that discovery names only on spec.ocs.url's own origin — a discovery document (or
 * whoever answers in its place) must not be able to send secrets elsewhere. Each rule can be
 * lifted for the whole of Rotor by a flag, never by a tenant's spec.
 */
import { IssuerError } from "../issuer.ts";

export interface UrlPolicy {
  /** --allow-insecure-issuer-urls: plain http to hosts other than loopback. */
  allowInsecure: boolean;
  /** --allow-foreign-token-endpoints: a token endpoint on another origin than spec.ocs.url. */
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

/** Throws UrlRefused when `url` (spec.ocs.url) may not carry credentials. */
export function checkIssuerUrl(url: string, policy: UrlPolicy): void {
  const parsed = new URL(url);
  if (parsed.protocol === "http:" && !isLoopback(parsed.hostname) && !policy.allowInsecure)
    throw new UrlRefused(
      "InsecureUrl",
      `spec.ocs.url uses plain http to ${parsed.host}: tokens and secrets would cross the network unencrypted. Use https (Rotor allows plain http only to loopback, or everywhere with its flag --allow-insecure-issuer-urls)`,
    );
}

/** Throws UrlRefused when the discovered token endpoint may not receive secrets. */
export function checkTokenEndpoint(endpoint: string, issuerUrl: string, policy: UrlPolicy): void {
  const token = new URL(endpoint);
  const issuer = new URL(issuerUrl);
  if (token.protocol === "http:" && !isLoopback(token.hostname) && !policy.allowInsecure)
    throw new UrlRefused(
      "InsecureUrl",
      `the discovery document names a plain-http token endpoint on ${token.host}: secrets would cross the network unencrypted, so Rotor sends none (it allows plain http only to loopback, or everywhere with its flag --allow-insecure-issuer-urls)`,
    );
  if (token.origin !== issuer.origin && !policy.allowForeignTokenEndpoint)
    throw new UrlRefused(
      "ForeignTokenEndpoint",
      `the discovery document names a token endpoint on ${token.protocol}//${token.host}, not on spec.ocs.url's ${issuer.protocol}//${issuer.host}: Rotor sends secrets only to the issuer's own host, so it sends none. Check spec.ocs.url (AVEVA serves the token endpoint on the same host); a different token host is allowed only by Rotor's flag --allow-foreign-token-endpoints`,
    );
}
