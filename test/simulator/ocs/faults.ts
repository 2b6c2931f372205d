/**
 * The misbehaviour a test can switch on: latency, throttling, server errors, connections that
 * drop or never answer, and changes whose answer is lost. Rotor must survive all of them at the
 * real OCS, which gives no warning before any of them.
 */
import { errorReply, type Reply } from "./reply.ts";

/**
 * - drop: the socket is destroyed without an answer.
 * - timeout: no answer at all; the socket is held until the client gives up or the simulator stops.
 * - lostResponse: POST and DELETE are carried out, then the socket is destroyed without an answer
 *   (the caller cannot know the change happened); any other method behaves like drop.
 */
export type FaultKind = "429" | "500" | "503" | "drop" | "timeout" | "lostResponse";

export interface Faults {
  /** Added to every response. */
  latencyMs: number;
  /** 0..1: the fraction of requests (API, token and discovery) that fail. */
  failureRate: number;
  /** One is chosen uniformly for each failing request. */
  failureKinds: FaultKind[];
  /** Sent as Retry-After with every injected 429. */
  retryAfterSeconds: number;
  /** How long a deleted secret keeps authenticating at the token endpoint. */
  deletionDelayMs: number;
}

export const NO_FAULTS: Readonly<Faults> = {
  latencyMs: 0,
  failureRate: 0,
  failureKinds: ["500"],
  retryAfterSeconds: 1,
  deletionDelayMs: 0,
};

/** The fault to inject into one request, if any. */
export function chooseFault(faults: Faults, random: () => number = Math.random): FaultKind | undefined {
  if (faults.failureKinds.length === 0 || random() >= faults.failureRate) return undefined;
  return faults.failureKinds[Math.floor(random() * faults.failureKinds.length)];
}

/** The answer to a request that fails with an HTTP status (the other faults have no answer). */
export function injected(fault: FaultKind, retryAfterSeconds: number): Reply {
  if (fault === "429")
    return errorReply(429, "Too many requests", "Injected by the simulator.", "Retry later.", {
      "retry-after": String(retryAfterSeconds),
    });
  if (fault === "503")
    return errorReply(503, "Service unavailable", "Injected by the simulator.", "Retry later.");
  return errorReply(500, "Internal server error", "Injected by the simulator.", "Retry later.");
}
