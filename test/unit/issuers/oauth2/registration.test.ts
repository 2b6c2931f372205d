/** RFC 7591 as Rotor speaks it: what it sends, what of the answer it keeps, how refusals read. */
import { describe, expect, it } from "vitest";
import { oauthErrorDetail } from "../../../../src/issuers/http/client-token.ts";
import { STRICT } from "../../../../src/issuers/http/urls.ts";
import { IssuerError } from "../../../../src/issuers/issuer.ts";
import { nextPageToken } from "../../../../src/issuers/oauth2/hydra-admin.ts";
import {
  describeRefusal,
  nonceOf,
  readRegistration,
  registrationBody,
  unconfirmedId,
  withoutSecrets,
} from "../../../../src/issuers/oauth2/registration.ts";
import { groupSecretName } from "../../../../src/issuers/oauth2/registrations.ts";

const ISSUER = "https://auth.example.com";
const TOKEN = "ory_at_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";

describe("registrationBody", () => {
  it("asks for client credentials only, with the issuer's metadata where set", () => {
    expect(
      registrationBody({ tokenEndpointAuthMethod: "client_secret_post", scope: "a b", audience: ["x"] }, "n"),
    ).toEqual({
      client_name: "n",
      grant_types: ["client_credentials"],
      token_endpoint_auth_method: "client_secret_post",
      scope: "a b",
      audience: ["x"],
    });
    expect(registrationBody({ tokenEndpointAuthMethod: "client_secret_basic" }, "n")).toEqual({
      client_name: "n",
      grant_types: ["client_credentials"],
      token_endpoint_auth_method: "client_secret_basic",
    });
  });
});

describe("readRegistration", () => {
  const answer = {
    client_id: "c1",
    client_secret: "s1",
    registration_access_token: TOKEN,
    registration_client_uri: `${ISSUER}/oauth2/register/c1`,
  };
  it.each<[string, Record<string, unknown>, boolean, RegExp | undefined]>([
    ["a full answer", answer, true, undefined],
    ["no secret: usable for deletion still", { ...answer, client_secret: undefined }, true, undefined],
    ["no client id", { ...answer, client_id: undefined }, false, /no client_id/],
    ["no registration access token", { ...answer, registration_access_token: "" }, false, /RFC 7592/],
    ["no registration client URI", { ...answer, registration_client_uri: undefined }, false, /RFC 7592/],
    ["an id too long to be one", { ...answer, client_id: "x".repeat(300) }, false, /no client_id/],
    [
      "a registration client URI on another host",
      { ...answer, registration_client_uri: "https://collector.example.net/c1" },
      false,
      /collector\.example\.net.*does not use the client/,
    ],
    [
      "a plain-http registration client URI",
      { ...answer, registration_client_uri: "http://auth.example.com/oauth2/register/c1" },
      false,
      /plain-http/,
    ],
  ])("%s", (_name, body, ok, problem) => {
    const read = readRegistration(body, ISSUER, STRICT);
    expect(read.ok).toBe(ok);
    if (!read.ok) expect(read.problem).toMatch(problem as RegExp);
    else expect(read.registration.clientId).toBe("c1");
  });
});

describe("describeRefusal", () => {
  it.each<[string, number, unknown, string | undefined, RegExp]>([
    [
      "bad metadata",
      400,
      { error: "invalid_client_metadata", error_description: "audience" },
      undefined,
      /check spec\.oauth2\.client/,
    ],
    ["no initial access token", 401, { error: "unauthorized" }, undefined, /demands an initial access token/],
    ["a refused initial access token", 403, {}, "iat", /initial access token was refused/],
    ["registration disabled", 404, { error: "not found" }, undefined, /not enabled at the server/],
    ["something else", 409, {}, undefined, /registration policy/],
  ])("%s", (_name, status, body, token, advice) => {
    const message = describeRefusal(status, body, `${ISSUER}/reg`, token);
    expect(message).toMatch(advice);
    expect(message).toContain(`${ISSUER}/reg (${status}`);
  });

  it("never shows the initial access token, even when the server echoes it", () => {
    const echoed = { error: "invalid_token", error_description: `token ${TOKEN}x is expired` };
    const message = describeRefusal(401, echoed, `${ISSUER}/reg`, TOKEN);
    expect(message).not.toContain(TOKEN);
    expect(message).toContain("[redacted]");
  });
});

describe("oauthErrorDetail", () => {
  it.each<[unknown, string]>([
    [undefined, ""],
    ["text", ""],
    [{ error: "invalid_client" }, ": invalid_client"],
    [{ error: "invalid_client", error_description: "bad\n  secret" }, ": invalid_client (bad secret)"],
    [{ error_description: "only this" }, ": only this"],
    [{ error: 42 }, ""],
  ])("%j → %j", (body, expected) => {
    expect(oauthErrorDetail(body)).toBe(expected);
  });

  it("is bounded, whatever the server sends", () => {
    expect(oauthErrorDetail({ error: "x ".repeat(10_000) }).length).toBeLessThanOrEqual(302);
  });
});

describe("withoutSecrets", () => {
  it("cuts each secret out of an error's message and keeps its kind", () => {
    const error = withoutSecrets(new IssuerError("Unavailable", `no answer for ${TOKEN}`), [
      TOKEN,
      undefined,
    ]);
    expect(error).toBeInstanceOf(IssuerError);
    expect((error as IssuerError).kind).toBe("Unavailable");
    expect(error.message).toBe("no answer for [redacted]");
  });
});

describe("intent ids and group names", () => {
  it("round-trips a nonce through the id the controller sees", () => {
    expect(nonceOf(unconfirmedId("abc123"))).toBe("abc123");
    expect(nonceOf("3f1c0d2e-client")).toBeUndefined();
  });

  it.each<[string, string | undefined]>([
    ["0e7accb2-ca3b-46ff-8f6f-54e89eb1d294", "rotor-oauth2-0e7accb2-ca3b-46ff-8f6f-54e89eb1d294"],
    ["0E7ACCB2-CA3B-46FF-8F6F-54E89EB1D294", "rotor-oauth2-0e7accb2-ca3b-46ff-8f6f-54e89eb1d294"],
    ["orders", "rotor-oauth2-orders"],
    ["../etc", undefined],
    ["a_b", undefined],
    ["-x", undefined],
    ["", undefined],
    ["x".repeat(201), undefined],
  ])("group %j → %j", (group, name) => {
    expect(groupSecretName(group)).toBe(name);
  });
});

describe("nextPageToken (Hydra's Link header)", () => {
  it.each<[string | null, string | undefined]>([
    [null, undefined],
    ['</admin/clients?page_size=2&page_token=abc>; rel="next"', "abc"],
    [
      '</admin/clients?page_size=2&page_token=first>; rel="first",</admin/clients?page_size=2&page_token=n2>; rel="next"',
      "n2",
    ],
    ['</admin/clients?page_size=2&page_token=p>; rel="prev"', undefined],
  ])("%s → %s", (link, token) => {
    expect(nextPageToken(link)).toBe(token);
  });
});
