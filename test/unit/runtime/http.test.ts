import { connect } from "node:net";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpServer, parseTarget, readBody } from "../../../src/runtime/http.ts";

/** Sends raw bytes (fetch refuses to send a malformed target) and returns what came back. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(request));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.on("close", () => resolve(answer));
    // A server that refuses a request while it is still being sent resets the connection: what
    // it answered before that still counts.
    socket.on("error", (error) => (answer ? resolve(answer) : reject(error)));
  });
}
const statusOf = (answer: string) => Number(answer.split(" ")[1]);

let server: HttpServer;
let port: number;
const logged: string[] = [];

beforeAll(async () => {
  const log = pino({ level: "debug" }, { write: (line: string) => void logged.push(line) });
  server = new HttpServer({ port: 0, host: "127.0.0.1", registry: new Registry(), ready: () => true, log });
  server.route("/body", async (req, res) => {
    res.end(String((await readBody(req, 100)).length));
  });
  server.route("/boom", () => {
    throw new Error("handler bug");
  });
  port = await server.listen();
});
afterAll(() => server.close());

describe("parseTarget", () => {
  it.each([
    ["/healthz", "/healthz"],
    ["/oauth2/token?x=1", "/oauth2/token"],
    ["http://rotor:8080/healthz", "/healthz"],
    ["*", "/*"],
  ])("reads %s as path %s", (target, path) => {
    expect(parseTarget(target)?.pathname).toBe(path);
  });
  it.each(["http://[", "http://[::1", "https://a:b:c@[x]/"])("refuses %s", (target) => {
    expect(parseTarget(target)).toBeUndefined();
  });
});

describe("the HTTP server under hostile requests", () => {
  it("answers 400 to a request target that is not a URL, and keeps serving", async () => {
    const answer = await raw(port, "GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(statusOf(answer)).toBe(400);
    expect(statusOf(await raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))).toBe(
      200,
    );
  });

  it("answers 413 to a body over the limit, declared or not", async () => {
    const declared = await raw(
      port,
      "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n",
    );
    expect(statusOf(declared)).toBe(413);
    const chunked = await raw(
      port,
      `POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n${"a".repeat(200)}\r\n0\r\n\r\n`,
    );
    expect(statusOf(chunked)).toBe(413);
  });

  it("answers 500 when a handler throws, and logs it", async () => {
    const answer = await raw(port, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(statusOf(answer)).toBe(500);
    expect(logged.some((l) => l.includes("handler bug"))).toBe(true);
  });

  it("lets Node's parser refuse garbage and oversized headers", async () => {
    expect(statusOf(await raw(port, "\u0000\u0001 nonsense\r\n\r\n"))).toBe(400);
    const huge = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`);
    expect(statusOf(huge)).toBe(431);
  });
});
