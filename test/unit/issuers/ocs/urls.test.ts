/** Where OCS credentials may go: the rules of http/urls.ts as ocs/urls.ts applies them, row by row. */
import { describe, expect, it } from "vitest";
import { isLoopback, STRICT, type UrlPolicy, UrlRefused } from "../../../../src/issuers/http/urls.ts";
import { checkTenantUrl, checkTokenEndpoint } from "../../../../src/issuers/ocs/urls.ts";

const AVEVA = "https://uswe.datahub.connect.aveva.com";
const insecureAllowed: UrlPolicy = { ...STRICT, allowInsecure: true };
const foreignAllowed: UrlPolicy = { ...STRICT, allowForeignTokenEndpoint: true };

function refusal(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(UrlRefused);
    return (error as UrlRefused).reason;
  }
}

describe("isLoopback", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.10.0.3", true],
    ["localhost", true],
    ["[::1]", true],
    ["128.0.0.1", false],
    ["127.0.0.1.nip.io", false],
    ["uswe.datahub.connect.aveva.com", false],
  ])("%s: %s", (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe("checkTenantUrl", () => {
  it.each<[string, UrlPolicy, string | undefined]>([
    [AVEVA, STRICT, undefined],
    ["http://127.0.0.1:8080", STRICT, undefined],
    ["http://localhost:8080/", STRICT, undefined],
    ["http://[::1]:8080", STRICT, undefined],
    ["http://ocs.example.com", STRICT, "InsecureUrl"],
    ["http://10.0.0.5:8080", STRICT, "InsecureUrl"],
    ["http://ocs.example.com", insecureAllowed, undefined],
  ])("%s (%j): %s", (url, policy, expected) => {
    expect(refusal(() => checkTenantUrl(url, policy))).toBe(expected);
  });
});

describe("checkTokenEndpoint", () => {
  it.each<[string, string, UrlPolicy, string | undefined]>([
    [`${AVEVA}/identity/connect/token`, AVEVA, STRICT, undefined],
    [`${AVEVA}:443/identity/connect/token`, `${AVEVA}/`, STRICT, undefined],
    ["https://USWE.datahub.connect.aveva.com/identity/connect/token", AVEVA, STRICT, undefined],
    ["http://127.0.0.1:7000/identity/connect/token", "http://127.0.0.1:7000", STRICT, undefined],
    // Another host, another port, another scheme: another origin.
    ["https://collector.example.net/token", AVEVA, STRICT, "ForeignTokenEndpoint"],
    ["https://uswe.datahub.connect.aveva.com.example.net/token", AVEVA, STRICT, "ForeignTokenEndpoint"],
    ["http://127.0.0.1:7001/token", "http://127.0.0.1:7000", STRICT, "ForeignTokenEndpoint"],
    ["https://collector.example.net/token", AVEVA, foreignAllowed, undefined],
    // A downgrade to plain http is refused as such, even on the same host.
    ["http://uswe.datahub.connect.aveva.com/identity/connect/token", AVEVA, STRICT, "InsecureUrl"],
    [
      "http://uswe.datahub.connect.aveva.com/identity/connect/token",
      AVEVA,
      insecureAllowed,
      "ForeignTokenEndpoint",
    ],
    [
      "http://uswe.datahub.connect.aveva.com/identity/connect/token",
      AVEVA,
      { allowInsecure: true, allowForeignTokenEndpoint: true },
      undefined,
    ],
  ])("%s for %s (%j): %s", (endpoint, issuer, policy, expected) => {
    expect(refusal(() => checkTokenEndpoint(endpoint, issuer, policy))).toBe(expected);
  });

  it("says where the endpoint is, where it should be, and which flag would allow it", () => {
    try {
      checkTokenEndpoint("https://collector.example.net/token", AVEVA, STRICT);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain("https://collector.example.net");
      expect((error as Error).message).toContain("https://uswe.datahub.connect.aveva.com");
      expect((error as Error).message).toContain("--allow-foreign-token-endpoints");
    }
  });
});
