/**
 * The real Ory Hydra the OAuth2 client-registration issuer is tested against (support/hydra.ts):
 * what the issuer relies on, shown without Rotor. A client registered by RFC 7591 gets tokens, is
 * found by its name through the admin listing, is deleted by RFC 7592 and refused afterwards, and
 * a registered client outlives a restart of Hydra (sqlite file).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Hydra,
  introspect,
  listClients,
  manageRegistration,
  register,
  startHydra,
  token,
} from "../support/hydra.ts";

const metadata = (clientName: string) => ({
  client_name: clientName,
  grant_types: ["client_credentials"],
  token_endpoint_auth_method: "client_secret_basic",
  scope: "orders.read orders.write",
  audience: ["https://orders.example"],
});

describe("Ory Hydra for the client-registration issuer", () => {
  let hydra: Hydra;
  beforeAll(async () => {
    hydra = await startHydra();
  });
  afterAll(async () => {
    await hydra?.stop();
  });

  it("names its token and registration endpoints in discovery", async () => {
    const response = await fetch(`${hydra.issuerUrl}/.well-known/openid-configuration`);
    const discovery = (await response.json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: hydra.issuerUrl,
      token_endpoint: `${hydra.publicUrl}/oauth2/token`,
      registration_endpoint: hydra.registrationUrl,
    });
    expect(discovery.grant_types_supported).toContain("client_credentials");
  });

  it("registers a client, gives it tokens, deletes it and then refuses it", async () => {
    const name = `rotor-smoke-${randomUUID()}`;
    const registered = await register(hydra.registrationUrl, metadata(name));
    expect(registered.status).toBe(201);
    const client = registered.body;
    expect(client).toMatchObject({ client_name: name, scope: "orders.read orders.write" });
    expect(client.registration_client_uri).toBe(`${hydra.registrationUrl}/${client.client_id}`);

    const issued = await token(hydra.publicUrl, client.client_id, client.client_secret, {
      scope: "orders.read",
      audience: "https://orders.example",
    });
    expect(issued.status).toBe(200);
    const accessToken = issued.body.access_token as string;
    expect(await introspect(hydra.adminUrl, accessToken)).toMatchObject({
      active: true,
      client_id: client.client_id,
    });
    expect((await listClients(hydra.adminUrl, name)).map((c) => c.client_id)).toEqual([client.client_id]);

    // RFC 7592 PUT answers a new registration access token; the one before no longer works.
    const updated = await manageRegistration(
      client.registration_client_uri,
      client.registration_access_token,
      "PUT",
      metadata(name),
    );
    expect(updated.status).toBe(200);
    const current = updated.body.registration_access_token as string;
    expect(current).not.toBe(client.registration_access_token);
    const stale = await manageRegistration(
      client.registration_client_uri,
      client.registration_access_token,
      "GET",
    );
    expect(stale.status).toBe(401);

    const deleted = await manageRegistration(client.registration_client_uri, current, "DELETE");
    expect(deleted.status).toBe(204);
    const refused = await token(hydra.publicUrl, client.client_id, client.client_secret);
    expect(refused).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(await introspect(hydra.adminUrl, accessToken)).toEqual({ active: false });
    expect(await listClients(hydra.adminUrl, name)).toEqual([]);
  });

  it("lists every client of a name across pages", async () => {
    const name = `rotor-paged-${randomUUID()}`;
    for (let i = 0; i < 3; i++)
      expect((await register(hydra.registrationUrl, metadata(name))).status).toBe(201);
    await register(hydra.registrationUrl, metadata(`${name}-other`));
    expect(await listClients(hydra.adminUrl, name, 2)).toHaveLength(3);
  });

  it("keeps a registered client over a restart", async () => {
    const { body: client } = await register(hydra.registrationUrl, metadata(`rotor-restart-${randomUUID()}`));
    await hydra.restart({ downMs: 300, signal: "SIGKILL" });
    expect(hydra.alive).toBe(true);
    const issued = await token(hydra.publicUrl, client.client_id, client.client_secret);
    expect(issued.status).toBe(200);
    const read = await manageRegistration(
      client.registration_client_uri,
      client.registration_access_token,
      "GET",
    );
    expect(read).toMatchObject({ status: 200, body: { client_id: client.client_id } });
  });
});
