import { describe, expect, it } from "vitest";
import { ENDLESS_TOTAL_COUNT, MAX_DESCRIPTION_LENGTH } from "../../simulator/ocs/server.ts";
import { call, expectErrorBody, inAnHour, secretBody, start, tokenFor, tokenRequest } from "./ocs-helpers.ts";

describe("the OCS simulator's identity server", () => {
  it("publishes its token endpoint in the discovery document", async () => {
    const { sim } = await start();
    const { status, body } = await call(`${sim.url}/identity/.well-known/openid-configuration`, undefined);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      issuer: `${sim.url}/identity`,
      token_endpoint: `${sim.url}/identity/connect/token`,
      grant_types_supported: ["client_credentials"],
    });
  });

  it("issues tokens for the client's lifetime, to client_secret_post and client_secret_basic", async () => {
    const { sim, tenant } = await start();
    const client = sim.addClient(tenant, { accessTokenLifetime: 600 });
    const posted = await tokenRequest(sim, client.clientId, client.secret);
    expect(posted).toEqual({
      status: 200,
      body: { access_token: expect.any(String), expires_in: 600, token_type: "Bearer", scope: "ocsapi" },
    });
    const basic = Buffer.from(
      `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.secret)}`,
    ).toString("base64");
    const response = await fetch(`${sim.url}/identity/connect/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
      body: "grant_type=client_credentials",
    });
    expect(response.status).toBe(200);
    expect(sim.stats.tokensIssued).toBe(2);
  });

  it("refuses a wrong secret, an expired one and an unsupported grant", async () => {
    const { sim, tenant } = await start();
    const client = sim.addClient(tenant);
    const expired = sim.addSecret(tenant, client.clientId, { expiration: new Date(Date.now() - 1000) });
    expect(await tokenRequest(sim, client.clientId, "wrong")).toEqual({
      status: 400,
      body: { error: "invalid_client" },
    });
    expect((await tokenRequest(sim, client.clientId, expired.value)).body.error).toBe("invalid_client");
    // Expired, but still listed (and still counting toward the 10).
    expect(sim.secrets(tenant, client.clientId).map((s) => s.id)).toContain(expired.id);
    const response = await fetch(`${sim.url}/identity/connect/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "password",
        client_id: client.clientId,
        client_secret: client.secret,
      }),
    });
    expect(await response.json()).toEqual({ error: "unsupported_grant_type" });
  });
});

describe("the OCS simulator's client API, as tenant administrator", () => {
  it("creates a client, shows its secret once, and refuses a second client with the same Id", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const id = "0e1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    const creation = {
      Id: id,
      Name: "orders",
      Enabled: true,
      AccessTokenLifetime: 900,
      RoleIds: [sim.memberRoleId(tenant)],
      SecretDescription: "first",
      SecretExpirationDate: inAnHour(),
    };
    const created = await call(base, admin, "POST", creation);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      Secret: expect.any(String),
      Id: 1,
      Description: "first",
      ExpirationDate: creation.SecretExpirationDate,
      Client: {
        Id: id,
        Name: "orders",
        Enabled: true,
        AccessTokenLifetime: 900,
        RoleIds: [sim.memberRoleId(tenant)],
        Tags: [],
      },
    });
    expect((await tokenRequest(sim, id, created.body.Secret)).body.expires_in).toBe(900);
    const listed = await call(`${base}/${id}/Secrets`, admin);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.Secret);

    const again = await call(base, admin, "POST", creation);
    expect(again.status).toBe(409);
    expectErrorBody(again);
    expect(sim.stats.clientCreations.get(id)).toBe(1);

    const withoutRoles = await call(base, admin, "POST", { ...creation, Id: undefined, RoleIds: [] });
    expect(withoutRoles.status).toBe(400);
  });

  it("pages the secrets with skip and count, with the total in Total-Count, and never shows a value", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const values = [client.secret];
    for (let i = 0; i < 4; i++) values.push(sim.addSecret(tenant, client.clientId).value);

    const page = await call(`${base}/${client.clientId}/Secrets?skip=1&count=2`, admin);
    expect(page.status).toBe(200);
    expect(page.headers.get("total-count")).toBe("5");
    expect(page.body.map((s: { Id: number }) => s.Id)).toEqual([2, 3]);
    expect(page.body[0]).toEqual({
      Id: 2,
      Expiration: expect.any(String),
      Expires: true,
      Description: "Added in the portal",
    });
    const all = await call(`${base}/${client.clientId}/Secrets`, admin);
    const one = await call(`${base}/${client.clientId}/Secrets/3`, admin);
    expect(all.body).toHaveLength(5);
    expect(one.body.Id).toBe(3);
    for (const value of values) {
      expect(JSON.stringify(all.body)).not.toContain(value);
      expect(JSON.stringify(one.body)).not.toContain(value);
    }
  });

  it("refuses an 11th secret with 400 and AVEVA's error body", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    for (let i = 0; i < 9; i++) {
      expect((await call(`${base}/${client.clientId}/Secrets`, admin, "POST", secretBody())).status).toBe(
        201,
      );
    }
    const eleventh = await call(`${base}/${client.clientId}/Secrets`, admin, "POST", secretBody());
    expect(eleventh.status).toBe(400);
    expectErrorBody(eleventh);
    expect(sim.stats.maxSecretsSeen.get(client.clientId)).toBe(10);
  });

  it("refuses a description over the limit and an expiration in the past", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const url = `${base}/${client.clientId}/Secrets`;
    const long = await call(url, admin, "POST", secretBody("x".repeat(MAX_DESCRIPTION_LENGTH + 1)));
    const past = await call(url, admin, "POST", { ...secretBody(), Expiration: "2020-01-01T00:00:00Z" });
    expect([long.status, past.status]).toEqual([400, 400]);
    expect((await call(url, admin, "POST", secretBody("x".repeat(MAX_DESCRIPTION_LENGTH)))).status).toBe(201);
  });

  it("deletes a secret with 204, then answers 404", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const url = `${base}/${client.clientId}/Secrets/${client.secretId}`;
    expect((await call(url, admin, "DELETE")).status).toBe(204);
    expect((await call(url, admin)).status).toBe(404);
    expect((await call(url, admin, "DELETE")).status).toBe(404);
    expect(sim.secrets(tenant, client.clientId)).toEqual([]);
    expect((await tokenRequest(sim, client.clientId, client.secret)).body.error).toBe("invalid_client");
  });

  it("lets a deleted secret authenticate for deletionDelayMs, and issued tokens live on", async () => {
    const { sim, tenant, base } = await start();
    sim.setFaults({ deletionDelayMs: 150 });
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const issued = await tokenFor(sim, client);
    await call(`${base}/${client.clientId}/Secrets/${client.secretId}`, admin, "DELETE");
    expect(sim.secrets(tenant, client.clientId)).toEqual([]);
    expect((await tokenRequest(sim, client.clientId, client.secret)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await tokenRequest(sim, client.clientId, client.secret)).body.error).toBe("invalid_client");
    expect((await call(`${base}/${client.clientId}`, issued)).status).toBe(200);
  });

  it("counts every PUT, allowed or not", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const self = await tokenFor(sim, client);
    const url = `${base}/${client.clientId}/Secrets/${client.secretId}`;
    const extended = await call(url, admin, "PUT", { Expiration: inAnHour(), Expires: true });
    expect(extended.status).toBe(200);
    expect((await call(url, self, "PUT", { Expiration: inAnHour(), Expires: true })).status).toBe(403);
    expect(sim.stats.puts).toBe(2);
  });
});

describe("the OCS simulator's faults", () => {
  it("answers 429 with Retry-After", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    sim.setFaults({ failureRate: 1, failureKinds: ["429"], retryAfterSeconds: 7 });
    const throttled = await call(base, admin);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("7");
    expectErrorBody(throttled);
    expect(sim.stats.injectedFailures).toBe(1);
  });

  it("carries out a POST whose answer is lost; drops a GET", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    sim.setFaults({ failureRate: 1, failureKinds: ["lostResponse"] });
    await expect(
      call(`${base}/${client.clientId}/Secrets`, admin, "POST", secretBody("lost")),
    ).rejects.toThrow();
    await expect(call(`${base}/${client.clientId}/Secrets`, admin)).rejects.toThrow();
    expect(sim.secrets(tenant, client.clientId).map((s) => s.description)).toEqual([
      "Created in the portal",
      "lost",
    ]);
  });

  it("holds a timed-out request until the client gives up, and stop() closes it", async () => {
    const { sim, tenant } = await start();
    sim.setFaults({ failureRate: 1, failureKinds: ["timeout"] });
    const signal = AbortSignal.timeout(100);
    await expect(
      fetch(`${sim.url}/api/v1/Tenants/${tenant}/ClientCredentialClients`, { signal }),
    ).rejects.toThrow();
    const held = fetch(`${sim.url}/identity/.well-known/openid-configuration`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sim.stop();
    await expect(held).rejects.toThrow();
  });

  it("adds latency to every response", async () => {
    const { sim } = await start();
    sim.setFaults({ latencyMs: 80 });
    const started = Date.now();
    await call(`${sim.url}/identity/.well-known/openid-configuration`, undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });
});

describe("a hostile simulator", () => {
  it("names another token endpoint, lists without end, and answers without end until the client hangs up", async () => {
    const { sim, tenant, base } = await start();
    const admin = sim.addAdminClient(tenant);
    const client = sim.addClient(tenant);
    sim.setHostility({ tokenEndpoint: "https://collector.example.net/token", endlessPages: true });
    const discovery = await call(`${sim.url}/identity/.well-known/openid-configuration`, undefined);
    expect(discovery.body.token_endpoint).toBe("https://collector.example.net/token");
    const token = await tokenFor(sim, admin);
    const page = await call(`${base}/${client.clientId}/Secrets?skip=500&count=100`, token);
    expect(page.headers.get("total-count")).toBe(String(ENDLESS_TOTAL_COUNT));
    expect(page.body).toHaveLength(100);
    expect(page.body[0].Id).toBe(501);

    sim.setHostility({ answers: "endless" });
    const response = await fetch(`${sim.url}/identity/.well-known/openid-configuration`);
    const reader = response.body?.getReader();
    let read = 0;
    while (read <= 4 * 1024 * 1024) read += (await reader?.read())?.value?.byteLength ?? 0;
    await reader?.cancel();
    await expect.poll(() => sim.stats.hostileBytesSent).toBeGreaterThan(4 * 1024 * 1024);
  });
});
