/** Reconciling or Stalled, from a ClientCredential's Ready, Rotating and RolledOut conditions. */
import { describe, expect, it } from "vitest";
import { progressOf } from "../../../../src/controllers/clientcredential/progress.ts";
import type { Condition } from "../../../../src/runtime/conditions.ts";

const c = (type: string, status: Condition["status"], reason: string): Condition => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: "2026-01-01T00:00:00Z",
});
const upToDate = [c("Rotating", "False", "UpToDate"), c("RolledOut", "True", "RolledOut")];

describe("progressOf", () => {
  it.each<{ name: string; given: Condition[]; want: [string, string] | undefined }>([
    {
      name: "Ready and up to date: neither",
      given: [c("Ready", "True", "Issued"), ...upToDate],
      want: undefined,
    },
    {
      name: "the first secret being minted",
      given: [c("Ready", "False", "Issuing"), c("Rotating", "True", "Renewing")],
      want: ["Reconciling", "Issuing"],
    },
    {
      name: "a new secret the token endpoint has not accepted yet",
      given: [c("Ready", "False", "VerificationPending")],
      want: ["Reconciling", "VerificationPending"],
    },
    {
      name: "a Kubernetes error, retried",
      given: [c("Ready", "False", "KubernetesError")],
      want: ["Reconciling", "KubernetesError"],
    },
    ...[
      "IssuerError",
      "ClientIdConflict",
      "SecretConflict",
      "IssuerNotAllowed",
      "InvalidSpec",
      "NamespaceNotEnabled",
    ].map((reason) => ({
      name: `not Ready: ${reason}`,
      given: [c("Ready", "False", reason), ...upToDate],
      want: ["Stalled", reason] as [string, string],
    })),
    {
      name: "a rotation under way",
      given: [
        c("Ready", "True", "Issued"),
        c("Rotating", "True", "Renewing"),
        c("RolledOut", "True", "RolledOut"),
      ],
      want: ["Reconciling", "Renewing"],
    },
    {
      name: "consumers rolling over",
      given: [
        c("Ready", "True", "Issued"),
        c("Rotating", "False", "UpToDate"),
        c("RolledOut", "False", "RolloutPending"),
      ],
      want: ["Reconciling", "RolloutPending"],
    },
    {
      name: "an exhausted budget, while the current secret works",
      given: [c("Ready", "True", "Issued"), c("Rotating", "True", "SlotsExhausted")],
      want: ["Stalled", "SlotsExhausted"],
    },
    ...["RolloutTimeout", "ConsumersOutlivedSecret"].map((reason) => ({
      name: `a rollover that did not finish: ${reason}`,
      given: [
        c("Ready", "True", "Issued"),
        c("Rotating", "True", "Renewing"),
        c("RolledOut", "False", reason),
      ],
      want: ["Stalled", reason] as [string, string],
    })),
    { name: "nothing reported yet", given: [], want: undefined },
  ])("$name", ({ given, want }) => {
    const progress = progressOf(given);
    expect(progress && [progress.type, progress.reason]).toEqual(want);
    if (progress) {
      const source = given.find((g) => g.reason === progress.reason);
      expect(progress.message).toBe(source?.message);
    }
  });
});
