/**
 * What a simulated endpoint answers, decided before anything is written to the socket: the
 * server may still delay the answer, or throw it away to simulate a lost response. Errors carry
 * AVEVA's error body, `{OperationId, Error, Reason, Resolution}`, and the same id in the
 * `Operation-Id` header, which is where AVEVA's own clients read it.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";

/**
 * AVEVA does not document the Content-Type of its answers. Its Python sample library parses an
 * error's Error, Reason and Resolution only when the Content-Type is exactly this (no charset),
 * and its authors wrote it against the real service.
 */
export const JSON_TYPE = "application/json";
const MAX_BODY_BYTES = 1024 * 1024;

/** A request, read completely. */
export interface Incoming {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** An answer to HEAD: the headers a GET gets, Content-Length included, without the body. */
  head?: boolean;
}

/** Thrown anywhere below an endpoint; becomes an error reply. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly resolution: string;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    error: string,
    reason: string,
    resolution: string,
    headers: Record<string, string> = {},
  ) {
    super(error);
    this.status = status;
    this.reason = reason;
    this.resolution = resolution;
    this.headers = headers;
  }
}

export function errorReply(
  status: number,
  error: string,
  reason: string,
  resolution: string,
  headers: Record<string, string> = {},
): Reply {
  const operationId = randomUUID();
  return {
    status,
    headers: { ...headers, "Operation-Id": operationId },
    body: { OperationId: operationId, Error: error, Reason: reason, Resolution: resolution },
  };
}

export const replyFor = (error: ApiError): Reply =>
  errorReply(error.status, error.message, error.reason, error.resolution, error.headers);

export function send(response: ServerResponse, reply: Reply): void {
  const json = reply.body === undefined ? undefined : JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    ...(json === undefined
      ? {}
      : { "content-type": JSON_TYPE, "content-length": String(Buffer.byteLength(json)) }),
    ...reply.headers,
  });
  response.end(reply.head ? undefined : json);
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
