/**
 * HTTP to one OCS tenant: a timeout on every request, the issuer's throttle, and retries with
 * exponential backoff and full jitter on network errors, 408, 429 (honouring Retry-After) and
 * 5xx. A request whose outcome is unknown (no answer, or a 5xx) is repeated only when repeating
 * it is harmless: reads, deletes and token requests. Creating a secret twice would put a
 * second, valueless secret at the issuer; that is left to the controller, which sees the
 * orphan by its marker and revokes it before it mints again.
 */
import { backoffDelay, sleep } from "../../runtime/backoff.ts";
import { scrub } from "../../runtime/log.ts";
import { IssuerError } from "../issuer.ts";
import type { Throttle } from "./throttle.ts";

export interface HttpOptions {
  timeoutMs: number;
  /** Attempts per request, the first included. */
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  /** A longer Retry-After is not waited for: the request fails and the controller backs off. */
  maxRetryAfterMs: number;
  throttle: Throttle;
  /** Called once per attempt: for metrics. */
  onAttempt?: (method: string, outcome: string) => void;
}

export interface OcsRequest {
  method: "GET" | "POST" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Safe to send again when the first outcome is unknown. */
  repeatable: boolean;
  /** What this request does, for error messages ("list the secrets of client …"). */
  what: string;
}

export interface OcsResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Errors where the request provably never reached the server. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export class OcsHttp {
  private readonly options: HttpOptions;

  constructor(options: HttpOptions) {
    this.options = options;
  }

  async send(request: OcsRequest): Promise<OcsResponse> {
    const { maxAttempts, backoff, maxRetryAfterMs } = this.options;
    for (let attempt = 1; ; attempt++) {
      const delay = backoffDelay({ ...backoff, jitter: "full" }, attempt - 1);
      const last = attempt >= maxAttempts;
      let response: OcsResponse;
      try {
        response = await this.once(request);
      } catch (error) {
        const code = networkCode(error);
        this.options.onAttempt?.(request.method, code);
        const unknownOutcome = !NOT_SENT.has(code);
        if (last || (unknownOutcome && !request.repeatable)) {
          throw new IssuerError(
            "Unavailable",
            `could not ${request.what}: ${describeNetwork(code)} from ${new URL(request.url).host}${
              unknownOutcome && !request.repeatable ? " (outcome unknown; not repeated)" : ""
            }`,
          );
        }
        await sleep(delay);
        continue;
      }
      const { status } = response;
      this.options.onAttempt?.(request.method, String(status));
      const throttled = status === 408 || status === 429;
      const serverError = status >= 500;
      if (!throttled && !serverError) return response;
      if (last || (serverError && !request.repeatable)) {
        throw new IssuerError(
          "Unavailable",
          `could not ${request.what}: the issuer answered ${status}${errorDetail(response.body)}`,
        );
      }
      const retryAfter = retryAfterMs(response.headers.get("retry-after"));
      if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) {
        throw new IssuerError(
          "Unavailable",
          `could not ${request.what}: the issuer is rate limiting (${status}, Retry-After ${Math.ceil(retryAfter / 1000)}s)`,
        );
      }
      await sleep(Math.max(delay, retryAfter ?? 0));
    }
  }

  private once(request: OcsRequest): Promise<OcsResponse> {
    return this.options.throttle.run(async () => {
      const response = await fetch(request.url, {
        method: request.method,
        headers: { accept: "application/json", ...request.headers },
        body: request.body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: "error",
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: response.status, headers: response.headers, body };
    });
  }
}

/** The part of AVEVA's error body (`{OperationId, Error, Reason, Resolution}`) worth showing. */
export function errorDetail(body: unknown): string {
  if (!body || typeof body !== "object") return "";
  const { Error: error, Reason: reason, error: oauthError } = body as Record<string, unknown>;
  const parts = [error, reason, oauthError].filter((p): p is string => typeof p === "string" && p !== "");
  return parts.length > 0 ? `: ${scrub(parts.join(" ").slice(0, 300))}` : "";
}

function networkCode(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError" || error.name === "AbortError") return "timeout";
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return cause.code;
    if (cause?.message) return scrub(cause.message);
  }
  return "network error";
}

function describeNetwork(code: string): string {
  if (code === "timeout") return "no answer in time";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "connection dropped";
  return code;
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
