/**
 * Point 5 of the hostile-tenant review: whatever reaches Rotor's port, Rotor keeps running.
 * Malformed request targets (`http://[`, which `new URL` rejects), garbage, oversized headers
 * and bodies, and connections that never finish their request are sent to Rotor running as its
 * own process; afterwards it still answers /healthz, a ClientCredential still becomes Ready,
 * and its log shows no unhandled error.
 */
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, testNamespace } from "../../support/cluster.ts";
import { createClientCredential, waitForReady } from "../../support/credentials.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { openPartial, rawRequest, statusOf } from "./endpoint-requests.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;

beforeAll(async () => {
  ns = await testNamespace("hostile-http");
  rotor = await startRotor();
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

const healthy = async () => (await fetch(`${rotor.metricsUrl}/healthz`)).status === 200;

describe("hostile requests to Rotor's port", () => {
  it.each([
    ["GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["POST http://[/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"],
    ["GET https://a:b@[zz]:99/healthz HTTP/1.1\r\nHost: x\r\n\r\n"],
  ])("answers 400 to a request target that is not a URL: %j", async (request) => {
    expect(statusOf(await rawRequest(rotor.url, request))).toBe(400);
    expect(await healthy()).toBe(true);
  });

  it("answers 400 to garbage and 431 to oversized headers", async () => {
    expect(statusOf(await rawRequest(rotor.url, Buffer.from([0, 1, 2, 255, 13, 10, 13, 10])))).toBe(400);
    const huge = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(200_000)}\r\n\r\n`;
    expect(statusOf(await rawRequest(rotor.url, huge))).toBe(431);
    const many = `GET /healthz HTTP/1.1\r\nHost: x\r\n${"X-H: 1\r\n".repeat(5000)}\r\n`;
    expect([400, 431]).toContain(statusOf(await rawRequest(rotor.url, many)));
    expect(await healthy()).toBe(true);
  });

  it("answers 413 to an oversized token request body, declared or streamed", async () => {
    const declared = await rawRequest(
      rotor.url,
      "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\n",
    );
    expect(statusOf(declared)).toBe(413);
    const chunk = `${(64 * 1024).toString(16)}\r\n${"a".repeat(64 * 1024)}\r\n`;
    const streamed = await rawRequest(
      rotor.url,
      `POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(16)}0\r\n\r\n`,
    );
    expect(statusOf(streamed)).toBe(413);
    expect(await healthy()).toBe(true);
  });

  it("keeps serving while connections dawdle, and cuts them off", async () => {
    const slow: Socket[] = [];
    for (let i = 0; i < 50; i++)
      slow.push(await openPartial(rotor.url, "POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"));
    const closed = slow.map((s) => new Promise<void>((resolve) => s.once("close", () => resolve())));
    expect(await healthy()).toBe(true);
    // headersTimeout: a request whose headers never end is answered (408) and closed.
    await eventually("every dawdling connection to be closed by Rotor", async () => {
      await Promise.all(closed);
      return true;
    });
  });

  it("is still the same process, with no unhandled error in its log, and still reconciles", async () => {
    expect(rotor.restarts).toBe(0);
    expect(await healthy()).toBe(true);
    await createClientCredential(ns.name, "after-the-storm", {});
    await waitForReady(ns.name, "after-the-storm");
    expect(rotor.output()).not.toMatch(
      /unhandled promise rejection|uncaught exception|Rotor could not start/,
    );
  });
});
