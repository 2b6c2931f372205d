/**
 * Retries toward an issuer, against a scripted HTTP server: what is repeated, what is not
 * (a POST whose outcome is unknown), and how long Rotor waits.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  IssuerHttp,
  type IssuerRequest,
  NeverSent,
  retryAfterMs,
} from "../../../../src/issuers/http/http.ts";
import { Throttle } from "../../../../src/issuers/http/throttle.ts";
import { IssuerError } from "../../../../src/issuers/issuer.ts";

type Scripted =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | "drop"
  | "hang"
  /** 200, then bytes as fast as the client reads them, forever. */
  | "endless"
  /** 200, then one byte every 100 ms, forever. */
  | "drip";

let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

/** A server answering each request with the next scripted answer (the last one repeats). */
async function scripted(answers: Scripted[]): Promise<{ url: string; seen: () => number }> {
  let seen = 0;
  server = createServer((request, response) => {
    request.resume();
    const answer = answers[Math.min(seen++, answers.length - 1)] as Scripted;
    if (answer === "drop") return void request.socket.destroy();
    if (answer === "hang") return;
    if (answer === "endless" || answer === "drip") return void forever(response, answer);
    response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    response.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api`, seen: () => seen };
}

/** Writes until the client hangs up. */
async function forever(response: ServerResponse, how: "endless" | "drip") {
  response.writeHead(200, { "content-type": "application/json" });
  const chunk = Buffer.alloc(64 * 1024, "[0,");
  while (!response.destroyed && !response.writableEnded) {
    if (how === "drip") {
      response.write("[");
      await new Promise((resolve) => setTimeout(resolve, 100));
    } else {
      if (!response.write(chunk))
        await new Promise((resolve) => {
          response.once("drain", resolve);
          response.once("close", resolve);
        });
    }
  }
}

function http(
  overrides: {
    maxAttempts?: number;
    timeoutMs?: number;
    callTimeoutMs?: number;
    maxRetryAfterMs?: number;
  } = {},
) {
  const outcomes: string[] = [];
  const client = new IssuerHttp({
    timeoutMs: overrides.timeoutMs ?? 2000,
    callTimeoutMs: overrides.callTimeoutMs ?? 20_000,
    maxAttempts: overrides.maxAttempts ?? 4,
    backoff: { baseMs: 1, maxMs: 5 },
    maxRetryAfterMs: overrides.maxRetryAfterMs ?? 5000,
    throttle: new Throttle({ maxConcurrent: 4, perSecond: 100 }),
    onAttempt: (_method, outcome) => outcomes.push(outcome),
  });
  return { client, outcomes };
}

const request = (url: string, method: IssuerRequest["method"] = "GET"): IssuerRequest => ({
  method,
  url,
  repeatable: method !== "POST",
  what: "do the thing",
});

describe("IssuerHttp", () => {
  it("repeats a read after 5xx and a dropped connection, and returns the answer", async () => {
    const server = await scripted([{ status: 500 }, "drop", { status: 503 }, { status: 200, body: [1] }]);
    const { client, outcomes } = http();
    const response = await client.send(request(server.url));
    expect(response.body).toEqual([1]);
    expect(server.seen()).toBe(4);
    expect(outcomes).toEqual(["500", expect.any(String), "503", "200"]);
  });

  it("waits for Retry-After on 429, for a POST too", async () => {
    const server = await scripted([
      { status: 429, headers: { "retry-after": "1" } },
      { status: 201, body: {} },
    ]);
    const { client } = http();
    const started = Date.now();
    expect((await client.send(request(server.url, "POST"))).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.seen()).toBe(2);
  });

  it("does not repeat a POST whose outcome is unknown (5xx or no answer)", async () => {
    for (const answer of [{ status: 500, body: { Error: "Internal", Reason: "boom" } }, "drop"] as const) {
      const server = await scripted([answer, { status: 201 }]);
      const { client } = http();
      const error = await client.send(request(server.url, "POST")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IssuerError);
      expect((error as IssuerError).kind).toBe("Unavailable");
      expect((error as Error).message).toContain("could not do the thing");
      expect(server.seen()).toBe(1);
    }
  });

  it("gives up after maxAttempts with what went wrong", async () => {
    const server = await scripted(["hang"]);
    const { client } = http({ maxAttempts: 2, timeoutMs: 200 });
    await expect(client.send(request(server.url))).rejects.toThrow(/do the thing: no answer in time/);
    expect(server.seen()).toBe(2);
  });

  it("does not wait for a Retry-After longer than allowed", async () => {
    const server = await scripted([{ status: 429, headers: { "retry-after": "120" } }]);
    const { client } = http({ maxRetryAfterMs: 1000 });
    await expect(client.send(request(server.url))).rejects.toThrow(/rate limiting \(429, Retry-After 120s\)/);
    expect(server.seen()).toBe(1);
  });

  it("repeats a POST that never reached the server (connection refused)", async () => {
    const closed = await scripted([{ status: 200 }]);
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const { client, outcomes } = http({ maxAttempts: 3 });
    const error = await client.send(request(closed.url, "POST")).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/connection refused/);
    // Provably never sent: whoever recorded an intent to create something may forget it.
    expect(error).toBeInstanceOf(NeverSent);
    expect(outcomes).toEqual(["ECONNREFUSED", "ECONNREFUSED", "ECONNREFUSED"]);
  });

  it("does not take a POST whose connection dropped for one never sent", async () => {
    const server = await scripted(["drop"]);
    const { client } = http();
    const error = await client.send(request(server.url, "POST")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IssuerError);
    expect(error).not.toBeInstanceOf(NeverSent);
    expect((error as Error).message).toContain("outcome unknown");
  });

  it("returns 4xx answers to the caller without retrying", async () => {
    const server = await scripted([{ status: 404, body: { Error: "NotFound" } }]);
    const { client } = http();
    expect((await client.send(request(server.url))).status).toBe(404);
    expect(server.seen()).toBe(1);
  });
});

describe("IssuerHttp toward a server that wants to hurt Rotor", () => {
  it("cuts off an endless answer at maxBodyBytes with a clear error, and does not repeat it", async () => {
    const server = await scripted(["endless"]);
    const { client, outcomes } = http();
    const before = process.memoryUsage().arrayBuffers;
    const error = await client.send(request(server.url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IssuerError);
    expect((error as Error).message).toMatch(
      /could not do the thing: the answer from .* is longer than 1024 KiB; Rotor stopped reading it/,
    );
    expect(server.seen()).toBe(1);
    expect(outcomes).toEqual(["too-large"]);
    // What Rotor kept is bounded by the limit, whatever the server would have sent.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it("refuses an answer that announces a Content-Length above the limit without reading it", async () => {
    const server = await scripted([{ status: 200, headers: { "content-length": String(5 * 1024 * 1024) } }]);
    const { client } = http();
    await expect(client.send(request(server.url))).rejects.toThrow(/longer than 1024 KiB/);
  });

  it("ends a call whose attempts drip, at the call's deadline, not after every attempt", async () => {
    const server = await scripted(["drip"]);
    // 10 attempts of 1 s each would take 10 s; the call may take 1.5 s.
    const { client } = http({ maxAttempts: 10, timeoutMs: 1000, callTimeoutMs: 1500 });
    const error = await client.send(request(server.url)).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /could not do the thing: no complete answer within 2s, Rotor's limit for one issuer call/,
    );
    expect(server.seen()).toBe(2);
  });

  it("counts the wait for the throttle in the call's deadline", async () => {
    const server = await scripted(["hang"]);
    const throttle = new Throttle({ maxConcurrent: 1, perSecond: 100 });
    const options = { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 5 }, maxRetryAfterMs: 0, throttle };
    const slow = new IssuerHttp({ ...options, timeoutMs: 5000, callTimeoutMs: 5000 });
    const queued = new IssuerHttp({ ...options, timeoutMs: 5000, callTimeoutMs: 300 });
    const holding = slow.send(request(server.url)).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(queued.send(request(server.url))).rejects.toThrow(/no complete answer within 300ms/);
    // It never reached the server: it gave up its place in the line.
    expect(server.seen()).toBe(1);
    void holding; // ends when afterEach closes the server's connections
  });

  it("ends a call at the caller's deadline too", async () => {
    const server = await scripted(["hang"]);
    const { client } = http({ timeoutMs: 5000, callTimeoutMs: 5000 });
    const signal = AbortSignal.timeout(200);
    await expect(client.send({ ...request(server.url), signal })).rejects.toThrow(/no complete answer/);
  });
});

describe("retryAfterMs", () => {
  it.each<[string | null, number | undefined]>([
    [null, undefined],
    ["3", 3000],
    ["0", 0],
    ["Fri, 27 Nov 2026 10:00:05 GMT", 5000],
    ["soon", undefined],
  ])("%s → %s ms", (header, expected) => {
    expect(retryAfterMs(header, Date.parse("2026-11-27T10:00:00Z"))).toBe(expected);
  });
});
