/**
 * The operator's HTTP servers: one serves /healthz, /readyz and /metrics (plain HTTP, for the
 * kubelet and Prometheus), the other the routes mounted by others (the embedded issuer's token
 * endpoint), over TLS when given a certificate source. Every replica serves both, leader or not.
 *
 * Anyone who reaches the port can send anything, so every path answers for itself: a request
 * target that is not a URL gets 400, a body over the limit 413, a failing handler 500. Nothing a
 * request does may escape as an exception (one would otherwise restart every replica at once).
 * Malformed request lines and oversized headers never reach `handle`: Node's parser answers
 * them (400, 431) and closes the connection; a request that dawdles is cut off after
 * `headersTimeout` / `requestTimeout`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Registry } from "prom-client";
import { describeError, type Logger } from "./log.ts";
import type { CertificateSource } from "./tls.ts";

export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void> | void;

export interface HttpServerOptions {
  port: number;
  host?: string;
  /** Serves /metrics from it when given. */
  registry?: Registry;
  /** Serves /healthz and /readyz when given. */
  ready?: () => boolean;
  /** Serves HTTPS with its certificate, taking each new one without a restart; else plain HTTP. */
  tls?: CertificateSource;
  log: Logger;
}

export class HttpServer {
  private readonly routes = new Map<string, Route>();
  private readonly server: Server;
  private readonly options: HttpServerOptions;

  constructor(options: HttpServerOptions) {
    this.options = options;
    const { ready, registry, tls } = options;
    if (ready) {
      this.route("/healthz", (_req, res) => text(res, 200, "ok"));
      this.route("/readyz", (_req, res) => (ready() ? text(res, 200, "ok") : text(res, 503, "not ready")));
    }
    if (registry)
      this.route("/metrics", async (_req, res) => {
        const body = await registry.metrics();
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(body);
      });
    const limits = {
      keepAliveTimeout: 5000,
      headersTimeout: 10_000,
      requestTimeout: 15_000,
      // How often Node looks for requests past those timeouts (default 30 s, which would let a
      // slow client hold a connection for up to 40 s).
      connectionsCheckingInterval: 2000,
    };
    const listener = (request: IncomingMessage, response: ServerResponse) => {
      this.handle(request, response).catch((error: unknown) => this.failed(response, undefined, error));
    };
    if (tls) {
      const server = createTlsServer(
        // A handshake that dawdles is cut off too (Node's default waits 120 s).
        { ...limits, ...tls.current(), minVersion: "TLSv1.2", handshakeTimeout: 10_000 },
        listener,
      );
      // A new certificate (renewed, or files swapped) is used for new connections at once.
      tls.onChange((certificate) => server.setSecureContext({ ...certificate, minVersion: "TLSv1.2" }));
      this.server = server;
    } else {
      this.server = createServer(limits, listener);
    }
    // After listen() an error on the server (e.g. out of descriptors on accept) must not throw.
    this.server.on("error", (error) =>
      options.log.error({ error: describeError(error) }, "HTTP server error"),
    );
  }

  route(path: string, handler: Route): void {
    this.routes.set(path, handler);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host ?? "0.0.0.0", () => {
        const address = this.server.address();
        resolve(typeof address === "object" && address ? address.port : this.options.port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = parseTarget(request.url);
    if (!url) {
      text(response, 400, "bad request target", { connection: "close" });
      return;
    }
    const handler = this.routes.get(url.pathname);
    if (!handler) {
      text(response, 404, "not found");
      return;
    }
    try {
      await handler(request, response, url);
    } catch (error) {
      this.failed(response, url.pathname, error);
    }
  }

  private failed(response: ServerResponse, path: string | undefined, error: unknown): void {
    if (error instanceof HttpError) {
      if (!response.headersSent) text(response, error.status, error.message, { connection: "close" });
      else response.destroy();
      return;
    }
    this.options.log.error({ path, error: describeError(error) }, "HTTP handler failed");
    if (!response.headersSent) text(response, 500, "internal error", { connection: "close" });
    else response.destroy();
  }
}

/** An answer a handler gives by throwing: the status and a short text for the client. */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/**
 * The request target as a URL, or undefined when it is none. Node passes the target through
 * as sent: origin-form (`/path?q`), absolute-form (`http://host/path`), or anything else
 * (`http://[`), which `new URL` rejects by throwing.
 */
export function parseTarget(target: string | undefined): URL | undefined {
  if (!URL.canParse(target ?? "/", "http://localhost")) return undefined;
  return new URL(target ?? "/", "http://localhost");
}

function text(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
  response.end(body);
}

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  response.end(JSON.stringify(body));
}

/**
 * Reads a request body up to `limit` bytes; more is refused with 413 without reading it all
 * (a declared Content-Length over the limit is refused before reading anything).
 */
export async function readBody(request: IncomingMessage, limit = 16 * 1024): Promise<string> {
  const tooLarge = () => new HttpError(413, `request body over ${limit} bytes`);
  if (Number(request.headers["content-length"] ?? 0) > limit) throw tooLarge();
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
