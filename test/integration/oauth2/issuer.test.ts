/**
 * The OAuth2 registration issuer's lifecycle against a real Ory Hydra, called directly (the
 * controller's side is tested with Rotor as its own process elsewhere): each secret is a client
 * of its own, registered by RFC 7591 and deleted by RFC 7592; its record (with the registration
 * access tokens) lives in Rotor's namespace, never the team's.
 */
import { randomUUID } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssuerError } from "../../../src/issuers/issuer.ts";
import { issuerLabel } from "../../../src/issuers/oauth2/registrations.ts";
import { kubeConfig, testNamespace } from "../../support/cluster.ts";
import { getClient, type Hydra, introspect, listClients, startHydra, token } from "../../support/hydra.ts";
import { marked, type RegistrationSetup, registrationSetup, thrown } from "../../support/oauth2.ts";

const AUDIENCE = "https://orders.example";
const inADay = () => new Date(Date.now() + 86_400_000);

describe("OAuth2 registration issuer against Hydra", () => {
  let hydra: Hydra;
  let rotorNs: { name: string; remove: () => Promise<void> };
  let setup: RegistrationSetup;
  const core = kubeConfig().makeApiClient(CoreV1Api);

  beforeAll(async () => {
    [hydra, rotorNs] = await Promise.all([startHydra(), testNamespace("oauth2-rotor")]);
    setup = registrationSetup(
      {
        issuerUrl: hydra.issuerUrl,
        hydraAdminUrl: hydra.adminUrl,
        client: { scope: "orders.read", audience: [AUDIENCE] },
      },
      rotorNs.name,
    );
  });
  afterAll(async () => {
    await hydra?.stop();
    await rotorNs?.remove();
  });

  const tokenFor = (clientId: string, secret: string) =>
    token(hydra.publicUrl, clientId, secret, { scope: "orders.read", audience: AUDIENCE });

  it("creates a group with its first client, rotates to a second, and deletes the first", async () => {
    const { issuer, store } = setup;
    const group = randomUUID();
    const owner = randomUUID();
    const first = await issuer.createClient({
      clientId: group,
      name: "orders",
      roleIds: [],
      ownerUid: owner,
      firstSecret: { description: marked("orders", owner, "m1"), expiration: inADay() },
    });
    expect(first.clientId).toBe(first.id);
    expect(first.clientId).not.toBe(group);
    expect(issuer.tokenUrl).toBe(`${hydra.publicUrl}/oauth2/token`);
    const firstToken = await tokenFor(first.id, first.value);
    expect(firstToken.status).toBe(200);
    expect(await issuer.verify(first.id, first.value)).toEqual({ ok: true });
    // Registered as the issuer says: client credentials only, its scope and audience, Rotor's marker.
    expect(await getClient(hydra.adminUrl, first.id)).toMatchObject({
      client_name: marked("orders", owner, "m1"),
      grant_types: ["client_credentials"],
      scope: "orders.read",
      audience: [AUDIENCE],
      token_endpoint_auth_method: "client_secret_basic",
    });

    // The record: in Rotor's namespace, labelled with its owner and issuer.
    const record = await core.readNamespacedSecret({
      namespace: rotorNs.name,
      name: `rotor-oauth2-${group}`,
    });
    expect(record.metadata?.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "rotor",
      "rotor.dev/owner-uid": owner,
      "rotor.dev/issuer": issuerLabel(setup.server.key),
    });
    expect(await issuer.clientOwner(group)).toBe(owner);
    expect(await issuer.claimClient(group)).toBe(owner);
    expect(await issuer.clientExists(group)).toBe(true);

    const second = await issuer.mintSecret(group, {
      description: marked("orders", owner, "m2"),
      expiration: inADay(),
    });
    expect(second.id).not.toBe(first.id);
    expect((await tokenFor(second.id, second.value)).status).toBe(200);
    expect((await tokenFor(first.id, first.value)).status).toBe(200);
    expect((await issuer.listSecrets(group)).map((s) => [s.id, s.description])).toEqual([
      [first.id, marked("orders", owner, "m1")],
      [second.id, marked("orders", owner, "m2")],
    ]);

    await issuer.revokeSecret(group, first.id);
    expect(await tokenFor(first.id, first.value)).toMatchObject({
      status: 401,
      body: { error: "invalid_client" },
    });
    expect(await introspect(hydra.adminUrl, firstToken.body.access_token as string)).toEqual({
      active: false,
    });
    expect(await issuer.verify(first.id, first.value)).toMatchObject({ ok: false, permanent: true });
    expect((await issuer.listSecrets(group)).map((s) => s.id)).toEqual([second.id]);
    expect((await store.read(group))?.entries.map((e) => e.state)).toEqual(["registered"]);
    // Idempotent: gone is revoked.
    await issuer.revokeSecret(group, first.id);
    await issuer.revokeSecret(group, "no-such-client");
    expect((await tokenFor(second.id, second.value)).status).toBe(200);
  });

  it("deletes every client of a group, then its record", async () => {
    const { issuer, store } = setup;
    const group = randomUUID();
    const owner = randomUUID();
    const minted = [
      await issuer.createClient({
        clientId: group,
        name: "billing",
        roleIds: [],
        ownerUid: owner,
        firstSecret: { description: marked("billing", owner, "a"), expiration: inADay() },
      }),
    ];
    for (const mintId of ["b", "c"])
      minted.push(
        await issuer.mintSecret(group, {
          description: marked("billing", owner, mintId),
          expiration: inADay(),
        }),
      );
    expect(new Set(minted.map((m) => m.id)).size).toBe(3);

    await issuer.deleteClient(group);
    for (const m of minted) {
      expect((await tokenFor(m.id, m.value)).status).toBe(401);
      expect(await getClient(hydra.adminUrl, m.id)).toBeUndefined();
    }
    expect(await store.read(group)).toBeUndefined();
    expect(await issuer.clientExists(group)).toBe(false);
    expect(await issuer.clientOwner(group)).toBeUndefined();
    const missing = await thrown(issuer.listSecrets(group));
    expect(missing).toBeInstanceOf(IssuerError);
    expect((missing as IssuerError).kind).toBe("ClientNotFound");
    await issuer.deleteClient(group);
  });

  it("refuses a group another ClientCredential owns, and creates none for it", async () => {
    const { issuer } = setup;
    const group = randomUUID();
    const owner = randomUUID();
    const name = marked("shared", owner, "x1");
    await issuer.createClient({
      clientId: group,
      name: "shared",
      roleIds: [],
      ownerUid: owner,
      firstSecret: { description: name, expiration: inADay() },
    });
    const intruder = randomUUID();
    const intruderName = marked("shared", intruder, "x2");
    const refused = await thrown(
      issuer.createClient({
        clientId: group,
        name: "shared",
        roleIds: [],
        ownerUid: intruder,
        firstSecret: { description: intruderName, expiration: inADay() },
      }),
    );
    expect((refused as IssuerError).kind).toBe("ClientExists");
    expect(await listClients(hydra.adminUrl, intruderName)).toEqual([]);
    expect(await issuer.clientOwner(group)).toBe(owner);
    await issuer.deleteClient(group);
  });

  it("registers clients that log in with form fields when the issuer says client_secret_post", async () => {
    const post = registrationSetup(
      { issuerUrl: hydra.issuerUrl, client: { tokenEndpointAuthMethod: "client_secret_post" } },
      rotorNs.name,
      { key: "CredentialIssuer/team/post" },
    );
    const group = randomUUID();
    const minted = await post.issuer.createClient({
      clientId: group,
      name: "post",
      roleIds: [],
      ownerUid: randomUUID(),
      firstSecret: { description: "post", expiration: inADay() },
    });
    expect(await post.issuer.verify(minted.id, minted.value)).toEqual({ ok: true });
    expect(
      (await token(hydra.publicUrl, minted.id, minted.value, { method: "client_secret_post" })).status,
    ).toBe(200);
    // Hydra refuses the other method: so does verify, for good.
    expect(await setup.issuer.verify(minted.id, minted.value)).toMatchObject({ ok: false, permanent: true });
    await post.issuer.deleteClient(group);
    expect(await getClient(hydra.adminUrl, minted.id)).toBeUndefined();
  });
});
