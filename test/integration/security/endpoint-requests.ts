/**
 * Requests to Rotor's HTTP port as an attacker sends them: raw bytes (fetch refuses to send a
 * malformed request target) and token requests from a chosen loopback address (127.0.0.0/8 is
 * all loopback on Linux, so a test can play several sources).
 */
import { request } from "node:http";
import { connect, type Socket } from "node:net";

export interface RawOptions {
  localAddress?: string;
  /** Give up waiting for the answer after this long (the connection is then closed). */
  timeoutMs?: number;
}

/** Sends `text` as is and returns everything the server answered before closing. */
export function rawRequest(url: string, text: string | Buffer, options: RawOptions = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress: options.localAddress }, () =>
      socket.end(text),
    );
    let answer = "";
    socket.setTimeout(options.timeoutMs ?? 30_000, () => socket.destroy());
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    socket.on("close", () => resolve(answer));
    // A server that refuses a request while it is still arriving resets the connection: what
    // it answered before that still counts.
    socket.on("error", (error) => (answer ? resolve(answer) : reject(error)));
  });
}

/** The status code of a raw HTTP answer (0 when there was none). */
export const statusOf = (answer: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);

/** Opens a connection and sends only `text` (e.g. half a request), leaving it open. */
export function openPartial(url: string, text: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(text);
      resolve(socket);
    });
    // Read (and drop) what the server sends, or its closing the connection would go unnoticed.
    socket.resume();
    socket.on("error", reject);
  });
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A client_secret_basic token request from `localAddress`; extra form fields as given. */
export function tokenFrom(
  url: string,
  clientId: string,
  secret: string,
  localAddress: string,
  extra: Record<string, string> = {},
): Promise<TokenAnswer> {
  const body = new URLSearchParams({ grant_type: "client_credentials", ...extra }).toString();
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString(
    "base64",
  );
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/oauth2/token`,
      {
        method: "POST",
        localAddress,
        agent: false,
        headers: {
          authorization: `Basic ${basic}`,
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
