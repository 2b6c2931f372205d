import { isDeepStrictEqual } from "node:util";
/** computeStatus and the notices a reconcile reports: tables of snapshots, plans and conditions. */
import { describe, expect, it } from "vitest";
import type { Failure } from "../../../../src/controllers/clientcredential/apply/errors.ts";
import type { Blocker, Notice, Plan, Snapshot } from "../../../../src/controllers/clientcredential/model.ts";
import { comparable } from "../../../../src/controllers/clientcredential/reconciler.ts";
import { mergeNotices } from "../../../../src/controllers/clientcredential/report.ts";
import { computeStatus } from "../../../../src/controllers/clientcredential/status.ts";
import { at, inSyncTarget, iso, mine, snapshot, version } from "./builders.ts";

const plan = (over: Partial<Plan> = {}): Plan => ({
  actions: [],
  blocker: undefined,
  requeueAfterMs: undefined,
  notices: [],
  ...over,
});
const issued = () =>
  snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") });
const rotatedNone = () =>
  snapshot(
    {
      versions: [version("1", { supersededAt: iso(10) }), version("10")],
      issuerSecrets: [mine("1"), mine("10")],
      target: inSyncTarget("10"),
    },
    { rollout: { strategy: "Restart" } },
  );

describe("computeStatus", () => {
  it.each<{
    name: string;
    given: Snapshot;
    plan?: Plan;
    lastError?: Failure;
    want: Record<string, { status?: string; reason: string; message?: string }>;
    /** kstatus's abnormal-true condition Rotor sets (Reconciling or Stalled), if any. */
    progress?: "Reconciling" | "Stalled";
  }>([
    {
      name: "Ready and up to date with the current secret in the target",
      given: issued(),
      want: {
        Ready: { status: "True", reason: "Issued" },
        Rotating: { status: "False", reason: "UpToDate" },
      },
    },
    {
      name: "the first secret being minted is Reconciling",
      given: snapshot({ issuerSecrets: [] }),
      plan: plan({
        actions: [
          {
            type: "mint",
            reason: "initial",
            rotateRequest: undefined,
            secret: { expiration: "2026-11-27T13:01:00Z", description: "app" },
          },
        ],
      }),
      want: { Ready: { status: "False", reason: "Issuing" } },
      progress: "Reconciling",
    },
    {
      name: "a failed apply reports its own reason, not always IssuerError",
      given: snapshot({ issuerSecrets: [] }),
      lastError: { reason: "KubernetesError", message: "Kubernetes API 409: conflict" },
      want: {
        Ready: { status: "False", reason: "KubernetesError" },
        Rotating: { status: "True", reason: "Renewing" },
      },
      progress: "Reconciling",
    },
    {
      name: "a conflict is not Ready even while the old secret is valid",
      given: issued(),
      plan: plan({ blocker: { reason: "ClientIdConflict", message: "held" } as Blocker }),
      want: { Ready: { status: "False", reason: "ClientIdConflict" } },
      progress: "Stalled",
    },
    {
      name: "an issuer Rotor cannot use before the first secret is Stalled",
      given: snapshot({ issuerSecrets: [] }),
      plan: plan({ blocker: { reason: "IssuerError", message: "unreachable" } }),
      want: { Ready: { status: "False", reason: "IssuerError" }, Stalled: { reason: "IssuerError" } },
      progress: "Stalled",
    },
    {
      name: "an exhausted budget is Rotating=SlotsExhausted",
      given: issued(),
      plan: plan({ blocker: { reason: "SlotsExhausted", message: "full" } }),
      want: {
        Ready: { status: "True", reason: "Issued" },
        Rotating: { status: "True", reason: "SlotsExhausted" },
        Stalled: { status: "True", reason: "SlotsExhausted", message: "full" },
      },
      progress: "Stalled",
    },
    {
      name: "a superseded secret waiting for its consumers is RolloutPending",
      given: rotatedNone(),
      want: {
        Ready: { status: "True", reason: "Issued" },
        RolledOut: { status: "False", reason: "RolloutPending" },
        Reconciling: { status: "True", reason: "RolloutPending" },
      },
      progress: "Reconciling",
    },
    {
      name: "consumers that did not roll over within rollout.timeout are Stalled",
      given: rotatedNone(),
      plan: plan({
        notices: [{ type: "Warning", reason: "RolloutTimeout", message: "api did not roll over" }],
      }),
      want: {
        Ready: { status: "True", reason: "Issued" },
        RolledOut: { status: "False", reason: "RolloutTimeout" },
        Stalled: { status: "True", reason: "RolloutTimeout", message: "api did not roll over" },
      },
      progress: "Stalled",
    },
  ])("$name", ({ given, plan: p = plan(), lastError, want, progress }) => {
    const status = computeStatus(given, p, at(11), {
      failedAttempts: 0,
      lastFailureTime: undefined,
      lastError,
    });
    for (const [type, expected] of Object.entries(want))
      expect(status.conditions?.find((c) => c.type === type)).toMatchObject(expected);
    const abnormal = status.conditions?.filter((c) => c.type === "Reconciling" || c.type === "Stalled");
    expect(abnormal?.map((c) => [c.type, c.status])).toEqual(progress ? [[progress, "True"]] : []);
  });

  it("lists the current and superseded secrets and the budget, never a value", () => {
    const status = computeStatus(rotatedNone(), plan(), at(11), {
      failedAttempts: 0,
      lastFailureTime: undefined,
      lastError: undefined,
    });
    expect(status.secrets?.map((s) => [s.id, s.state])).toEqual([
      ["1", "Superseded"],
      ["10", "Current"],
    ]);
    expect(status).toMatchObject({
      currentSecretId: "10",
      slots: { used: 2, max: 10 },
      observedGeneration: 1,
    });
  });
});

describe("mergeNotices", () => {
  const notice = (reason: Notice["reason"], message: string = reason): Notice => ({
    type: "Warning",
    reason,
    message,
  });
  it("keeps what the applied plan reported and adds only new reasons from the fresh decision", () => {
    expect(
      mergeNotices(
        [notice("ConsumersOutlivedSecret", "old")],
        [notice("ConsumersOutlivedSecret", "new"), notice("RolloutPaused")],
      ),
    ).toEqual([notice("ConsumersOutlivedSecret", "old"), notice("RolloutPaused")]);
  });
});

describe("a status that changes nothing is not written again", () => {
  const built = {
    clientId: "c",
    currentSecretId: undefined,
    conditions: [
      {
        type: "Ready",
        status: "True" as const,
        reason: "Issued",
        message: "m",
        lastTransitionTime: "2026-11-27T10:00:00Z",
        observedGeneration: 1,
      },
    ],
  };
  // As it reads back from the API server: keys in another order, no undefined fields, a later
  // transition time.
  const readBack = {
    conditions: [
      {
        observedGeneration: 1,
        message: "m",
        reason: "Issued",
        lastTransitionTime: "2026-11-27T10:05:00Z",
        status: "True" as const,
        type: "Ready",
      },
    ],
    clientId: "c",
  };

  it("compares equal to what it reads back as", () => {
    expect(comparable(built)).toEqual(comparable(readBack));
    expect(isDeepStrictEqual(comparable(built), comparable(readBack))).toBe(true);
  });

  it("differs when a field differs", () => {
    expect(isDeepStrictEqual(comparable(built), comparable({ ...readBack, clientId: "d" }))).toBe(false);
  });
});
