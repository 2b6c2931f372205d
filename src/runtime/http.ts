/**
 * The operator's HTTP server: /healthz, /readyz, /metrics, plus routes mounted by others (the
 * embedded issuer's token endpoint). Every replica serves it, leader or not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { describeError, type Logger } from "./log.ts";

export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void> | void;

export interface HttpServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  ready: () => boolean;
  log: Logger;
}

export class HttpServer {
  private readonly routes = new Map<string, Route>();
  private readonly server: Server;
  private readonly options: HttpServerOptions;

  constructor(options: HttpServerOptions) {
    this.options = options;
    this.route("/healthz", (_req, res) => text(res, 200, "ok"));
    this.route("/readyz", (_req, res) =>
      options.ready() ? text(res, 200, "ok") : text(res, 503, "not ready"),
    );
    this.route("/metrics", async (_req, res) => {
      res.writeHead(200, { "content-type": options.registry.contentType });
      res.end(await options.registry.metrics());
    });
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.keepAliveTimeout = 5000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
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
    const url = new URL(request.url ?? "/", "http://localhost");
    const handler = this.routes.get(url.pathname);
    if (!handler) {
      text(response, 404, "not found");
      return;
    }
    try {
      await handler(request, response, url);
    } catch (error) {
      this.options.log.error({ path: url.pathname, error: describeError(error) }, "HTTP handler failed");
      if (!response.headersSent) text(response, 500, "internal error");
      else response.end();
    }
  }
}

function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
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

/** Reads a request body up to `limit` bytes. */
export async function readBody(request: IncomingMessage, limit = 16 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
