/** Which endpoints a discovery document and spec.oauth2 give, and which Rotor refuses, row by row. */
import { describe, expect, it } from "vitest";
import { STRICT, type UrlPolicy, UrlRefused } from "../../../../src/issuers/http/urls.ts";
import { IssuerError } from "../../../../src/issuers/issuer.ts";
import {
  type DiscoverySpec,
  endpointsFrom,
  NoRegistrationEndpoint,
} from "../../../../src/issuers/oauth2/discovery.ts";

const ISSUER = "https://auth.example.com";
const DOC = `${ISSUER}/.well-known/openid-configuration`;
const foreignAllowed: UrlPolicy = { ...STRICT, allowForeignTokenEndpoint: true };

/** The endpoints, or the refusal's reason (UrlRefused), or its class name. */
function outcome(document: unknown, spec: DiscoverySpec, policy: UrlPolicy = STRICT): unknown {
  try {
    return endpointsFrom(document, DOC, spec, policy);
  } catch (error) {
    if (error instanceof UrlRefused || error instanceof NoRegistrationEndpoint) return error.reason;
    if (error instanceof IssuerError) return error.kind;
    throw error;
  }
}

describe("endpointsFrom", () => {
  const token = `${ISSUER}/oauth2/token`;
  const registration = `${ISSUER}/oauth2/register`;
  it.each<[string, unknown, DiscoverySpec, UrlPolicy, unknown]>([
    [
      "both named on the issuer's origin",
      { token_endpoint: token, registration_endpoint: registration },
      { issuerUrl: ISSUER },
      STRICT,
      { token, registration },
    ],
    [
      "a trailing slash on the issuer URL",
      { token_endpoint: token, registration_endpoint: registration },
      { issuerUrl: `${ISSUER}/` },
      STRICT,
      { token, registration },
    ],
    [
      "the spec names the registration endpoint",
      { token_endpoint: token },
      { issuerUrl: ISSUER, registrationEndpoint: `${ISSUER}/reg` },
      STRICT,
      { token, registration: `${ISSUER}/reg` },
    ],
    [
      "the spec overrides discovery",
      { token_endpoint: token, registration_endpoint: "https://evil.example.net/reg" },
      { issuerUrl: ISSUER, registrationEndpoint: registration },
      STRICT,
      { token, registration },
    ],
    [
      "no registration endpoint",
      { token_endpoint: token },
      { issuerUrl: ISSUER },
      STRICT,
      "NoRegistrationEndpoint",
    ],
    [
      "no token endpoint",
      { registration_endpoint: registration },
      { issuerUrl: ISSUER },
      STRICT,
      "Unavailable",
    ],
    [
      "a token endpoint that is no URL",
      { token_endpoint: "javascript:alert(1)", registration_endpoint: registration },
      { issuerUrl: ISSUER },
      STRICT,
      "Unavailable",
    ],
    [
      "a registration endpoint that is no http URL",
      { token_endpoint: token, registration_endpoint: "ftp://auth.example.com/reg" },
      { issuerUrl: ISSUER },
      STRICT,
      "Unavailable",
    ],
    [
      "a token endpoint on another host",
      { token_endpoint: "https://collector.example.net/token", registration_endpoint: registration },
      { issuerUrl: ISSUER },
      STRICT,
      "ForeignTokenEndpoint",
    ],
    [
      "a registration endpoint on another host",
      { token_endpoint: token, registration_endpoint: "https://collector.example.net/reg" },
      { issuerUrl: ISSUER },
      STRICT,
      "ForeignTokenEndpoint",
    ],
    [
      "a spec registration endpoint on another port",
      { token_endpoint: token },
      { issuerUrl: ISSUER, registrationEndpoint: "https://auth.example.com:8443/reg" },
      STRICT,
      "ForeignTokenEndpoint",
    ],
    [
      "a plain-http token endpoint on the same host",
      { token_endpoint: "http://auth.example.com/oauth2/token", registration_endpoint: registration },
      { issuerUrl: ISSUER },
      STRICT,
      "InsecureUrl",
    ],
    [
      "another host, allowed by the flag",
      { token_endpoint: "https://collector.example.net/token", registration_endpoint: registration },
      { issuerUrl: ISSUER },
      foreignAllowed,
      { token: "https://collector.example.net/token", registration },
    ],
    [
      "loopback over http",
      {
        token_endpoint: "http://127.0.0.1:4444/oauth2/token",
        registration_endpoint: "http://127.0.0.1:4444/r",
      },
      { issuerUrl: "http://127.0.0.1:4444" },
      STRICT,
      { token: "http://127.0.0.1:4444/oauth2/token", registration: "http://127.0.0.1:4444/r" },
    ],
    ["no document at all", undefined, { issuerUrl: ISSUER }, STRICT, "Unavailable"],
  ])("%s", (_name, document, spec, policy, expected) => {
    expect(outcome(document, spec, policy)).toEqual(expected);
  });

  it("names the field to set when the registration endpoint is missing", () => {
    expect(() =>
      endpointsFrom({ token_endpoint: `${ISSUER}/t` }, DOC, { issuerUrl: ISSUER }, STRICT),
    ).toThrow(/spec\.oauth2\.registrationEndpoint/);
  });
});
