/**
 * How the simulated identity API answers, whatever the endpoint: HEAD like GET without a body,
 * `Content-Type: application/json` exactly, an `Operation-Id` on every answer, `count` between 1
 * and 1000, and secrets that cannot both never expire and have an expiration.
 */
import { describe, expect, it } from "vitest";
import { MAX_COUNT } from "../../simulator/ocs/server.ts";
import { call, expectErrorBody, inAnHour, secretBody, start, tokenFor } from "./ocs-helpers.ts";

const SAME_HEADERS = ["content-type", "content-length", "total-count"];

describe("HEAD", () => {
  it("answers as GET does, with the same status and headers, and no body", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    sim.addSecret(tenant, client.clientId);
    for (const url of [
      base,
      `${base}?skip=1&count=1`,
      `${base}/${client.clientId}`,
      `${base}/${client.clientId}/Secrets`,
      `${base}/${client.clientId}/Secrets/${client.secretId}`,
    ]) {
      const get = await call(url, admin);
      const head = await call(url, admin, "HEAD");
      expect([url, head.status, head.text]).toEqual([url, get.status, ""]);
      expect(get.text).not.toBe("");
      for (const name of SAME_HEADERS)
        expect([url, name, head.headers.get(name)]).toEqual([url, name, get.headers.get(name)]);
    }
    expect((await call(`${base}/${client.clientId}/Secrets`, admin, "HEAD")).headers.get("total-count")).toBe(
      "2",
    );
  });

  it("answers errors without a body, and is among the methods a 405 allows", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    for (const [url, token, status] of [
      [`${base}/${client.clientId}/Secrets/99`, admin, 404],
      [`${base}/${client.clientId}/Secrets/x`, admin, 400],
      [`${base}/${crypto.randomUUID()}`, admin, 404],
      [base, "not-a-token", 401],
      [`${base}?count=0`, admin, 400],
    ] as const) {
      const head = await call(url, token, "HEAD");
      expect([url, head.status, head.text, head.headers.get("content-type")]).toEqual([
        url,
        status,
        "",
        null,
      ]);
      expect(head.headers.get("operation-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
    for (const [url, allow] of [
      [base, "GET, HEAD, POST"],
      [`${base}/${client.clientId}`, "GET, HEAD, PUT, DELETE"],
      [`${base}/${client.clientId}/Secrets`, "GET, HEAD, POST"],
      [`${base}/${client.clientId}/Secrets/1`, "GET, HEAD, PUT, DELETE"],
      [`${base.replace(/ClientCredentialClients$/, "Roles")}`, "GET, HEAD"],
    ] as const) {
      const refused = await call(url, admin, "PATCH", {});
      expect([url, refused.status, refused.headers.get("allow")]).toEqual([url, 405, allow]);
      expectErrorBody(refused);
    }
  });
});

describe("every answer of the API", () => {
  it("carries a fresh Operation-Id, the error body's OperationId on errors, and Content-Type application/json", async () => {
    const { sim, tenant, tenantUrl, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const answers = [
      await call(tenantUrl, admin),
      await call(`${tenantUrl}/Roles`, admin),
      await call(base, admin),
      await call(`${base}/${client.clientId}/Secrets`, admin, "POST", secretBody()),
      await call(`${base}/${client.clientId}/Secrets/2`, admin, "DELETE"),
      await call(`${base}/${client.clientId}/Secrets/2`, admin),
      await call(`${tenantUrl}/Nothing`, admin),
      await call(base, undefined),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 201, 204, 404, 404, 401]);
    const ids = answers.map((a) => a.headers.get("operation-id"));
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(answers.length);
    for (const answer of answers.filter((a) => a.status !== 204))
      expect(answer.headers.get("content-type")).toBe("application/json");
    for (const answer of answers.filter((a) => a.status >= 400)) expectErrorBody(answer);

    sim.setFaults({ failureRate: 1, failureKinds: ["503"] });
    const injected = await call(base, admin);
    expect(injected.status).toBe(503);
    expectErrorBody(injected);
  });

  it("and of the identity server is application/json too", async () => {
    const { sim, tenant } = await start();
    const client = sim.addClient(tenant);
    const discovery = await fetch(`${sim.url}/identity/.well-known/openid-configuration`);
    const token = await fetch(`${sim.url}/identity/connect/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: "no",
      }),
    });
    expect([discovery.status, token.status]).toEqual([200, 400]);
    expect([discovery.headers.get("content-type"), token.headers.get("content-type")]).toEqual([
      "application/json",
      "application/json",
    ]);
  });
});

describe("count and skip", () => {
  it("take count from 1 to 1000 and a skip of 0 or more; anything else is a 400", async () => {
    const { sim, tenant, tenantUrl, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const lists = [`${tenantUrl}/Roles`, base, `${base}/${client.clientId}/Secrets`];
    for (const list of lists) {
      for (const query of ["count=1", `count=${MAX_COUNT}`, "skip=0", "skip=5000&count=1000"])
        expect([list, query, (await call(`${list}?${query}`, admin)).status]).toEqual([list, query, 200]);
      for (const query of [
        "count=0",
        `count=${MAX_COUNT + 1}`,
        "count=-1",
        "count=1.5",
        "count=ten",
        "skip=-1",
        "skip=2.5",
      ]) {
        const refused = await call(`${list}?${query}`, admin);
        expect([list, query, refused.status]).toEqual([list, query, 400]);
        expectErrorBody(refused);
      }
    }
    expect((await call(`${base}?count=1`, admin)).body).toHaveLength(1);
  });
});

describe("a secret", () => {
  it("cannot be sent with Expires false and an Expiration, on POST or PUT", async () => {
    const { sim, tenant, base } = await start();
    const admin = await tokenFor(sim, sim.addAdminClient(tenant));
    const client = sim.addClient(tenant);
    const secrets = `${base}/${client.clientId}/Secrets`;
    const both = { Description: "both", Expiration: inAnHour(), Expires: false };
    const posted = await call(secrets, admin, "POST", both);
    expect(posted.status).toBe(400);
    expectErrorBody(posted);
    const put = await call(`${secrets}/${client.secretId}`, admin, "PUT", {
      Expiration: inAnHour(),
      Expires: false,
    });
    expect(put.status).toBe(400);
    expect(sim.secrets(tenant, client.clientId).map((s) => s.description)).toEqual(["Created in the portal"]);

    // Expires false with a null (or no) Expiration: a secret that never expires.
    const never = await call(secrets, admin, "POST", { ...both, Expiration: null });
    expect([never.status, never.body.Expires, never.body.Expiration]).toEqual([201, false, null]);
    const unset = await call(`${secrets}/${client.secretId}`, admin, "PUT", { Expires: false });
    expect([unset.status, unset.body.Expires, unset.body.Expiration]).toEqual([200, false, null]);
  });
});
