/**
 * What the OCS simulator's own tests share: a started simulator with one tenant (stopped after
 * each test), tokens from its token endpoint, and calls to its API over HTTP.
 */
import { afterEach, expect } from "vitest";
import { OcsSimulator } from "../../simulator/ocs/server.ts";
import { requestToken } from "../../support/credentials.ts";

const running: OcsSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** `tenantUrl` is `/api/v1/Tenants/{tenant}`; `base` its client credential clients. */
export async function start() {
  const sim = await OcsSimulator.start();
  running.push(sim);
  const tenant = sim.addTenant();
  const tenantUrl = `${sim.url}/api/v1/Tenants/${tenant}`;
  return { sim, tenant, tenantUrl, base: `${tenantUrl}/ClientCredentialClients` };
}

export const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

/** A client_credentials grant at the simulator's token endpoint (form post). */
export const tokenRequest = (sim: OcsSimulator, clientId: string, secret: string) =>
  requestToken(`${sim.url}/identity/connect/token`, clientId, secret, "post");

export async function tokenFor(sim: OcsSimulator, credential: { clientId: string; secret: string }) {
  const { status, body } = await tokenRequest(sim, credential.clientId, credential.secret);
  expect(status).toBe(200);
  return body.access_token as string;
}

/** `text` is the body as sent; `body` the same parsed, when there was one. */
export async function call(url: string, token: string | undefined, method = "GET", body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}

export const secretBody = (description = "rotor") => ({
  Description: description,
  Expiration: inAnHour(),
  Expires: true,
});

/** AVEVA's error body, with its OperationId also in the Operation-Id header. */
export function expectErrorBody(reply: { body: unknown; headers: Headers }) {
  expect(reply.body).toEqual({
    OperationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    Error: expect.any(String),
    Reason: expect.any(String),
    Resolution: expect.any(String),
  });
  expect(reply.headers.get("content-type")).toBe("application/json");
  expect(reply.headers.get("operation-id")).toBe((reply.body as { OperationId: string }).OperationId);
}
