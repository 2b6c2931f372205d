/**
 * Why carrying out a plan failed, as a condition reason: the issuer, the Kubernetes API, a new
 * secret the token endpoint has not accepted yet, or a client another ClientCredential claimed
 * first. Messages are safe to show (no values, no tokens).
 */
import { ApiException } from "@kubernetes/client-node";
import { IssuerError } from "../../../issuers/issuer.ts";
import { describeError } from "../../../runtime/log.ts";

export type FailureReason = "IssuerError" | "KubernetesError" | "VerificationPending" | "ClientIdConflict";

export class ApplyError extends Error {
  readonly reason: FailureReason;

  constructor(reason: FailureReason, message: string) {
    super(message);
    this.reason = reason;
    this.name = "ApplyError";
  }
}

export interface Failure {
  reason: FailureReason;
  message: string;
}

/** The reason and a safe message for anything a step threw. */
export function failureOf(error: unknown): Failure {
  if (error instanceof ApplyError) return { reason: error.reason, message: error.message };
  if (error instanceof ApiException) return { reason: "KubernetesError", message: describeError(error) };
  if (error instanceof IssuerError) return { reason: "IssuerError", message: describeError(error) };
  return { reason: "IssuerError", message: describeError(error) };
}
