/**
 * What a simulated endpoint answers, decided before anything is written to the socket: the
 * server may still delay the answer, or throw it away to simulate a lost response. Errors carry
 * AVEVA's error body, `{OperationId, Error, Reason, Resolution}`.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

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
  return {
    status,
    headers,
    body: { OperationId: randomUUID(), Error: error, Reason: reason, Resolution: resolution },
  };
}

export const replyFor = (error: ApiError): Reply =>
  errorReply(error.status, error.message, error.reason, error.resolution, error.headers);
