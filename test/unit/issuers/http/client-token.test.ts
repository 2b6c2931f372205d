/** A client_credentials request as a workload makes it: how credentials are encoded and refusals read. */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { clientCredentialsToken, formEncode } from "../../../../src/issuers/http/client-token.ts";
import { IssuerHttp } from "../../../../src/issuers/http/http.ts";
import { Throttle } from "../../../../src/issuers/http/throttle.ts";

let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  running?.closeAllConnections();
  await new Promise((resolve) => (running ? running.close(resolve) : resolve(undefined)));
});

/** A token endpoint that records each request and answers `status` with `body`. */
async function endpoint(status: number, body: unknown) {
  const seen: Array<{ authorization?: string; form: URLSearchParams }> = [];
  server = createServer((request: IncomingMessage, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on("end", () => {
      seen.push({ authorization: request.headers.authorization, form: new URLSearchParams(text) });
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, seen };
}

const http = () =>
  new IssuerHttp({
    timeoutMs: 2000,
    callTimeoutMs: 5000,
    maxAttempts: 1,
    backoff: { baseMs: 1, maxMs: 1 },
    maxRetryAfterMs: 1000,
    throttle: new Throttle({ maxConcurrent: 2, perSecond: 100 }),
  });

describe("clientCredentialsToken", () => {
  it.each<[string, string]>([
    ["plain", "plain"],
    ["a b:c", "a+b%3Ac"],
    ["ü/%", "%C3%BC%2F%25"],
  ])("form-encodes %j as %j before Basic encoding (RFC 6749 2.3.1)", (text, encoded) => {
    expect(formEncode(text)).toBe(encoded);
  });

  it("sends Basic credentials, no scope, and takes a token for success", async () => {
    const token = await endpoint(200, { access_token: "at", expires_in: 60 });
    const result = await clientCredentialsToken(http(), {
      endpoint: token.url,
      clientId: "id:1",
      secret: "s e",
      method: "client_secret_basic",
    });
    expect(result).toEqual({ ok: true, expiresInSeconds: 60 });
    const [request] = token.seen;
    expect(request?.authorization).toBe(`Basic ${Buffer.from("id%3A1:s+e").toString("base64")}`);
    expect([...(request?.form.keys() ?? [])]).toEqual(["grant_type"]);
  });

  it("sends form fields for client_secret_post", async () => {
    const token = await endpoint(200, { access_token: "at" });
    await clientCredentialsToken(http(), {
      endpoint: token.url,
      clientId: "c",
      secret: "s",
      method: "client_secret_post",
    });
    expect(token.seen[0]?.authorization).toBeUndefined();
    expect(Object.fromEntries(token.seen[0]?.form ?? [])).toEqual({
      grant_type: "client_credentials",
      client_id: "c",
      client_secret: "s",
    });
  });

  it.each<[number, unknown, boolean]>([
    [401, { error: "invalid_client" }, true],
    [400, { error: "invalid_client" }, true],
    [400, { error: "invalid_scope" }, false],
    [200, { token_type: "bearer" }, false],
  ])("%d %j: refused for good: %s", async (status, body, refused) => {
    const token = await endpoint(status, body);
    const result = await clientCredentialsToken(http(), {
      endpoint: token.url,
      clientId: "c",
      secret: "the-secret-value",
      method: "client_secret_basic",
    });
    expect(result).toMatchObject({ ok: false, refused });
  });

  it("keeps the secret out of the reason, even when the server echoes it", async () => {
    const token = await endpoint(401, {
      error: "invalid_client",
      error_description: "secret the-secret-value is wrong",
    });
    const result = await clientCredentialsToken(http(), {
      endpoint: token.url,
      clientId: "c",
      secret: "the-secret-value",
      method: "client_secret_basic",
    });
    expect(result.ok ? "" : result.reason).not.toContain("the-secret-value");
  });
});
