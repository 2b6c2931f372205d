/**
 * Where OCS credentials may go (the rules of ../http/urls.ts): spec.ocs.url over https or to
 * loopback, and the token endpoint its discovery document names on the same origin.
 */
import { checkIssuerUrl, checkSameOrigin, type UrlPolicy } from "../http/urls.ts";

/** Throws UrlRefused when spec.ocs.url may not carry credentials. */
export function checkTenantUrl(url: string, policy: UrlPolicy): void {
  checkIssuerUrl(url, policy, "spec.ocs.url");
}

/** Throws UrlRefused when the discovered token endpoint may not receive secrets. */
export function checkTokenEndpoint(endpoint: string, issuerUrl: string, policy: UrlPolicy): void {
  checkSameOrigin(endpoint, issuerUrl, policy, {
    source: "the discovery document names",
    endpoint: "token endpoint",
    baseField: "spec.ocs.url",
    advice:
      "Check spec.ocs.url (AVEVA serves the token endpoint on the same host); a different token host is allowed only by Rotor's flag --allow-foreign-token-endpoints",
  });
}
