/**
 * Point 13 of the hostile-tenant review: the embedded issuer's tokens and signing keys.
 * - A signing-key Secret that Rotor cannot use (here: garbage, written before Rotor starts, and
 *   again while it runs) is reported and replaced, never a reason to crash; tokens issued
 *   afterwards verify with the published JWKS.
 * - The JWKS publishes the next key before it signs; after a rotation, tokens signed with the
 *   retired key still verify.
 * - Nothing the caller sends ends up in a token: not `scope`, not `aud`, `sub` or `client_id`.
 * - A bad --audience stops Rotor with a clear message.
 */
import { EventsV1Api } from "@kubernetes/client-node";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JWK, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeySet } from "../../../src/issuers/embedded/keyset.ts";
import { SIGNING_KEY_SECRET } from "../../../src/issuers/embedded/signing.ts";
import { eventually, kubeConfig, kubectl, kubectlOk, testNamespace } from "../../support/cluster.ts";
import {
  createClientCredential,
  decoded,
  readSecret,
  requestToken,
  waitForReady,
} from "../../support/credentials.ts";
import { putSecret } from "../../support/issuers.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../../support/rotor.ts";
import { tokenFrom } from "./endpoint-requests.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let clientId: string;
let secret: string;

const ROTATION = "20s";

beforeAll(async () => {
  ns = await testNamespace("tokens");
  // Whatever an earlier run left, the key Secret now holds nothing Rotor can use.
  if (kubectl(["get", "namespace", OPERATOR_NAMESPACE]).code !== 0)
    kubectlOk(["create", "namespace", OPERATOR_NAMESPACE]);
  await putSecret(OPERATOR_NAMESPACE, SIGNING_KEY_SECRET, { "key.jwk": "not a key", "keys.json": "{" });
  rotor = await startRotor([`--signing-key-rotation=${ROTATION}`]);
  await createClientCredential(ns.name, "svc", {});
  const cc = await waitForReady(ns.name, "svc");
  clientId = cc.status?.clientId as string;
  secret = decoded(await readSecret(ns.name, "svc"), "client_secret") as string;
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

const storedKeys = async () =>
  JSON.parse(
    decoded(await readSecret(OPERATOR_NAMESPACE, SIGNING_KEY_SECRET), "keys.json") ?? "{}",
  ) as KeySet;
const jwks = async () => ((await (await fetch(`${rotor.url}/oauth2/jwks`)).json()) as { keys: JWK[] }).keys;
const token = async () => {
  const answer = await requestToken(`${rotor.url}/oauth2/token`, clientId, secret);
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
};
const verify = async (jwt: string) =>
  jwtVerify(jwt, createLocalJWKSet({ keys: await jwks() }), { issuer: rotor.url, audience: "rotor" });
const keyEvents = async () =>
  (
    await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: OPERATOR_NAMESPACE })
  ).items.filter((e) => e.regarding?.name === SIGNING_KEY_SECRET && e.reason === "SigningKeyReplaced");

describe("the embedded issuer's signing keys", () => {
  it("replaces an unusable key Secret at start, says so, and signs tokens the JWKS verifies", async () => {
    const keys = await storedKeys();
    expect(keys.current?.jwk?.kid).toBeTruthy();
    expect(rotor.output()).toContain("held unusable signing keys");
    const events = await eventually("a SigningKeyReplaced event", async () => {
      const found = await keyEvents();
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]?.type).toBe("Warning");
    expect(events[0]?.note).toContain("not JSON");

    const jwt = await token();
    const { payload } = await verify(jwt);
    expect(payload.sub).toBe(clientId);
  });

  it("publishes the next key before it signs, then rotates to it; tokens signed before still verify", async () => {
    // Read the keys, a token and the JWKS between two reads that agree (no rotation in between).
    const { first, before, published } = await eventually("a token between two equal reads", async () => {
      const keys = await storedKeys();
      const jwt = await token();
      const kids = (await jwks()).map((k) => k.kid);
      const again = await storedKeys();
      return keys.current.jwk.kid === again.current.jwk.kid
        ? { first: keys, before: jwt, published: kids }
        : undefined;
    });
    expect(published).toEqual(expect.arrayContaining([first.current.jwk.kid, first.next.jwk.kid]));
    for (const key of await jwks()) expect(key).not.toHaveProperty("d");
    expect(decodeProtectedHeader(before).kid).toBe(first.current.jwk.kid);

    const after = await eventually(
      "a token signed by the key that was next",
      async () => {
        const jwt = await token();
        return decodeProtectedHeader(jwt).kid === first.next.jwk.kid ? jwt : undefined;
      },
      90_000,
      1000,
    );
    await verify(after);
    await verify(before);
    expect((await jwks()).map((k) => k.kid)).toContain(first.current.jwk.kid);
  });

  it("repairs the Secret when it is damaged while Rotor runs, keeping the key it signs with", async () => {
    const held = (await storedKeys()).current.jwk.kid;
    await putSecret(OPERATOR_NAMESPACE, SIGNING_KEY_SECRET, { "key.jwk": "garbage again" });
    const repaired = await eventually("the Secret repaired", async () => {
      const keys = await storedKeys().catch(() => undefined);
      return keys?.current?.jwk?.kid ? keys : undefined;
    });
    // Unless a rotation happened in between, the key in use was restored, not replaced.
    const kids = [repaired.current.jwk.kid, ...repaired.retired.map((r) => r.jwk.kid)];
    expect(kids).toContain(held);
    expect(rotor.output()).toContain("restored the signing key this replica held");
    await verify(await token());
  });
});

describe("tokens", () => {
  it("never carry what the caller asked for: scope, aud, sub or another client_id", async () => {
    const answer = await tokenFrom(rotor.url, clientId, secret, "127.0.0.1", {
      scope: "admin cluster:write",
      aud: "https://bank.example",
      audience: "https://bank.example",
      resource: "https://bank.example",
      sub: "someone-else",
      claims: '{"admin":true}',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).not.toHaveProperty("scope");
    const claims = decodeJwt(answer.body.access_token as string);
    expect(Object.keys(claims).sort()).toEqual(
      ["aud", "client_id", "exp", "iat", "iss", "jti", "rotor.dev/secret-id", "sub"].sort(),
    );
    expect(claims).toMatchObject({ aud: "rotor", sub: clientId, client_id: clientId, iss: rotor.url });
    expect(JSON.stringify(claims)).not.toMatch(/admin|bank|someone/);
  });

  it("have an audience that must be a valid value: a bad --audience stops Rotor with a clear message", async () => {
    await expect(startRotor(["--audience=two words"])).rejects.toThrow(/--audience must be printable ASCII/);
  });
});
