/**
 * HTTP to one issuer (an OCS tenant, an OAuth2 server): a timeout on every request, the
 * issuer's throttle, and retries with exponential backoff and full jitter on network errors,
 * 408, 429 (honouring Retry-After) and 5xx. A request whose outcome is unknown (no answer, or a
 * 5xx) is repeated only when repeating it is harmless: reads, deletes and token requests.
 * Creating a secret (or registering a client) twice would leave a second, valueless one at the
 * issuer; that is left to the caller, which finds the orphan by its marker and removes it.
 *
 * The issuer's URL may be chosen by whoever can write a CredentialIssuer, so nothing it sends
 * is trusted to be small or quick: answers are read up to `maxBodyBytes` and no further, and
 * one call — attempts, backoff, Retry-After and the wait for the throttle together — ends after
 * `callTimeoutMs`, whatever the server does.
 */
import { backoffDelay, sleep } from "../../runtime/backoff.ts";
import { scrub } from "../../runtime/log.ts";
import { currentScope, throwIfCancelled } from "../../runtime/scope.ts";
import { IssuerError } from "../issuer.ts";
import type { Throttle } from "./throttle.ts";

/** AVEVA's largest answers (a page of 100 secrets or clients) are tens of KiB; so are Hydra's. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpOptions {
  /** One attempt. */
  timeoutMs: number;
  /** One call, every attempt and wait included. */
  callTimeoutMs: number;
  /** The longest answer read; default MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** Attempts per request, the first included. */
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  /** A longer Retry-After is not waited for: the request fails and the controller backs off. */
  maxRetryAfterMs: number;
  throttle: Throttle;
  /** Called once per attempt: for metrics. */
  onAttempt?: (method: string, outcome: string) => void;
}

export interface IssuerRequest {
  method: "GET" | "POST" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Safe to send again when the first outcome is unknown. */
  repeatable: boolean;
  /** What this request does, for error messages ("list the secrets of client …"). */
  what: string;
  /** The caller's deadline, when the call is part of a larger one (see IssuerHttp.deadline). */
  signal?: AbortSignal;
}

export interface IssuerResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * A request that provably never reached the server (connection refused, host not found): a
 * caller that recorded an intent to create something may forget it.
 */
export class NeverSent extends IssuerError {}

/** An answer longer than allowed: Rotor stopped reading it. */
class BodyTooLarge extends Error {}

/** Errors where the request provably never reached the server. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export class IssuerHttp {
  private readonly options: HttpOptions;

  constructor(options: HttpOptions) {
    this.options = options;
  }

  get callTimeoutMs(): number {
    return this.options.callTimeoutMs;
  }

  /** A deadline for one call made of several requests (pages, a token and a request). */
  deadline(): AbortSignal {
    return AbortSignal.timeout(this.options.callTimeoutMs);
  }

  async send(request: IssuerRequest): Promise<IssuerResponse> {
    // The work this call is for (one reconcile, one leadership term) may end: its requests end too.
    const work = currentScope()?.signal;
    const deadline = AbortSignal.any([
      this.deadline(),
      ...(request.signal ? [request.signal] : []),
      ...(work ? [work] : []),
    ]);
    try {
      return await this.attempts(request, deadline);
    } catch (error) {
      if (deadline.aborted && !(error instanceof IssuerError))
        throw deadlineExceeded(request.what, this.options.callTimeoutMs);
      throw error;
    }
  }

  private async attempts(request: IssuerRequest, deadline: AbortSignal): Promise<IssuerResponse> {
    const { maxAttempts, backoff, maxRetryAfterMs } = this.options;
    for (let attempt = 1; ; attempt++) {
      // A write at the issuer is an effect outside Kubernetes: a replica that no longer leads
      // (or a reconcile out of time) must not make it.
      if (request.method !== "GET") throwIfCancelled();
      const delay = backoffDelay({ ...backoff, jitter: "full" }, attempt - 1);
      const last = attempt >= maxAttempts;
      let response: IssuerResponse;
      try {
        response = await this.once(request, deadline);
      } catch (error) {
        if (deadline.aborted) throw deadlineExceeded(request.what, this.options.callTimeoutMs);
        if (error instanceof BodyTooLarge) {
          this.options.onAttempt?.(request.method, "too-large");
          throw new IssuerError(
            "Unavailable",
            `could not ${request.what}: the answer from ${new URL(request.url).host} is longer than ${Math.round(this.maxBodyBytes / 1024)} KiB; Rotor stopped reading it`,
          );
        }
        const code = networkCode(error);
        this.options.onAttempt?.(request.method, code);
        const unknownOutcome = !NOT_SENT.has(code);
        if (last || (unknownOutcome && !request.repeatable)) {
          throw new (unknownOutcome ? IssuerError : NeverSent)(
            "Unavailable",
            `could not ${request.what}: ${describeNetwork(code)} from ${new URL(request.url).host}${
              unknownOutcome && !request.repeatable ? " (outcome unknown; not repeated)" : ""
            }`,
          );
        }
        await sleep(delay, deadline);
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
      await sleep(Math.max(delay, retryAfter ?? 0), deadline);
    }
  }

  private get maxBodyBytes(): number {
    return this.options.maxBodyBytes ?? MAX_BODY_BYTES;
  }

  private once(request: IssuerRequest, deadline: AbortSignal): Promise<IssuerResponse> {
    return this.options.throttle.run(() => {
      // The attempt's timeout covers the body too: a server that drips is cut off.
      const signal = AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), deadline]);
      // And the attempt ends when its signal does, whatever the HTTP client still waits for:
      // a hostile answer must never hold the throttle's slot, or the call, past its time.
      return endedBy(signal, async () => {
        const response = await fetch(request.url, {
          method: request.method,
          headers: { accept: "application/json", ...request.headers },
          body: request.body,
          signal,
          redirect: "error",
        });
        const text = await readBounded(response, this.maxBodyBytes);
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        return { status: response.status, headers: response.headers, body };
      });
    }, deadline);
  }
}

/** `task`'s answer, or a rejection with the signal's reason as soon as the signal aborts. */
function endedBy<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    task()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener("abort", abort));
  });
}

/** The body as text, read no further than `maxBytes`: a huge or endless answer is cut off. */
async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body?.cancel().catch(() => undefined); // not awaited: the answer is refused already
    throw new BodyTooLarge();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.cancel().catch(() => undefined); // not awaited: the answer is refused already
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function deadlineExceeded(what: string, callTimeoutMs: number): IssuerError {
  return new IssuerError(
    "Unavailable",
    `could not ${what}: no complete answer within ${callTimeoutMs < 1000 ? `${callTimeoutMs}ms` : `${Math.round(callTimeoutMs / 1000)}s`}, Rotor's limit for one issuer call (--issuer-call-timeout)`,
  );
}

/**
 * The part of an error body worth showing: AVEVA's `{OperationId, Error, Reason, Resolution}`,
 * or OAuth2's `error`.
 */
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

/**
 * Waits for shared work (a discovery, a token fetch) no longer than the caller's own deadline;
 * the work itself goes on for whoever else waits for it, bounded by its own.
 */
export function within<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
  ms: number,
): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(deadlineExceeded(what, ms));
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(deadlineExceeded(what, ms));
    signal.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}
