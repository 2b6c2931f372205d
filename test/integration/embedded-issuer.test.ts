/**
 * The embedded issuer's endpoints as a workload sees them: OAuth2 client_credentials with both
 * client authentication methods, RFC 6749 errors, OpenID discovery, a JWKS that verifies the
 * tokens, and a limit on failed authentications.
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testNamespace } from "../support/cluster.ts";
import {
  condition,
  createClientCredential,
  decoded,
  readSecret,
  requestToken,
  waitForReady,
  waitForReason,
} from "../support/credentials.ts";
import { createIssuer, readyCondition, waitForIssuer } from "../support/issuers.ts";
import { type RotorProcess, startRotor } from "../support/rotor.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let other: Awaited<ReturnType<typeof testNamespace>>;
let clientId: string;
let secret: string;

beforeAll(async () => {
  ns = await testNamespace("issuer");
  other = await testNamespace("issuer-other");
  rotor = await startRotor();
  await createClientCredential(ns.name, "svc", {});
  const cc = await waitForReady(ns.name, "svc");
  clientId = cc.status?.clientId as string;
  secret = decoded(await readSecret(ns.name, "svc"), "client_secret") as string;
});
afterAll(async () => {
  await ns?.remove();
  await other?.remove();
  await rotor?.stop();
});

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${rotor.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  }).then(async (r) => ({
    status: r.status,
    headers: r.headers,
    body: (await r.json()) as Record<string, string>,
  }));

describe("the embedded issuer", () => {
  it("publishes OpenID discovery and a JWKS that verifies its tokens", async () => {
    const discovery = (await (await fetch(`${rotor.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery).toMatchObject({
      issuer: rotor.url,
      token_endpoint: `${rotor.url}/oauth2/token`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    });
    const token = await requestToken(discovery.token_endpoint as string, clientId, secret);
    expect(token.status).toBe(200);
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
    const { payload } = await jwtVerify(token.body.access_token as string, jwks, {
      issuer: rotor.url,
      audience: "rotor",
    });
    expect(payload.sub).toBe(clientId);
    expect(payload.client_id).toBe(clientId);
  });

  it("answers with RFC 6749 errors", async () => {
    expect(await post("")).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    expect(await post("grant_type=password")).toMatchObject({
      status: 400,
      body: { error: "unsupported_grant_type" },
    });
    const anonymous = await post("grant_type=client_credentials");
    expect(anonymous).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(anonymous.headers.get("www-authenticate")).toContain("Basic");
    const unknown = await requestToken(
      `${rotor.url}/oauth2/token`,
      "00000000-0000-4000-8000-000000000000",
      secret,
      "post",
    );
    expect(unknown).toMatchObject({ status: 401, body: { error: "invalid_client" } });
  });

  it("limits failed authentications per client and source address", async () => {
    let last = 0;
    for (let i = 0; i < 21; i++)
      last = (await requestToken(`${rotor.url}/oauth2/token`, clientId, `wrong-${i}`)).status;
    expect(last).toBe(429);
    // The address that guessed wrong waits out the window, even with the right secret (other
    // addresses are still checked: test/integration/security/endpoint-lockout.test.ts).
    expect((await requestToken(`${rotor.url}/oauth2/token`, clientId, secret)).status).toBe(429);
  });

  it("gives a client to one ClientCredential only: another naming its id gets ClientIdConflict", async () => {
    await createClientCredential(other.name, "thief", { clientId });
    const thief = await waitForReason(other.name, "thief", "ClientIdConflict");
    expect(condition(thief, "Ready")?.message).toContain(`${ns.name}/svc`);
    expect(await readSecret(other.name, "thief")).toBeUndefined();
  });
});

describe("a CredentialIssuer naming the embedded issuer", () => {
  it("says when its accessTokenLifetime is not the one tokens get", async () => {
    const same = { namespace: ns.name, name: "builtin" };
    const other = { namespace: ns.name, name: "builtin-short" };
    await createIssuer(same, { embedded: { accessTokenLifetime: "1h" } });
    await createIssuer(other, { embedded: { accessTokenLifetime: "5m" } });
    expect(readyCondition(await waitForIssuer(same, "True", "Embedded"))?.message).toBe(
      "Rotor's built-in issuer",
    );
    expect(readyCondition(await waitForIssuer(other, "True", "Embedded"))?.message).toContain(
      "its tokens live 3600s (Rotor's --token-lifetime) for every client: spec.embedded.accessTokenLifetime is not applied per issuer",
    );
  });
});
