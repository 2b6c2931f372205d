/** The ClientCredential policy, as tables of snapshots and expected plans. */
import { describe, expect, it } from "vitest";
import { decide } from "../../../../src/controllers/clientcredential/decide.ts";
import type { Snapshot, Version } from "../../../../src/controllers/clientcredential/model.ts";
import { describeWithMarker } from "../../../../src/controllers/clientcredential/model.ts";
import {
  at,
  foreign,
  inSyncTarget,
  iso,
  mine,
  OTHER,
  options,
  snapshot,
  target,
  types,
  UID,
  version,
} from "./builders.ts";

/** auth.self: bootstrap secret 3, replaced at minute 10 by Rotor's secret 10; `pods` read the bootstrap Secret. */
const bootstrapped = (pods: NonNullable<Snapshot["consumers"]>["pods"]) =>
  snapshot({
    versions: [version("10")],
    issuerSecrets: [foreign("3"), mine("10")],
    target: inSyncTarget("10"),
    consumers: { pods: [], workloads: [] },
    bootstrap: { secretId: "3", secretName: "boot", consumers: { pods, workloads: [] } },
  });
describe("decide", () => {
  it.each<{ name: string; given: Snapshot; minutes: number; want: string[]; blocker?: string }>([
    {
      name: "a new ClientCredential gets its finalizer and a client",
      given: snapshot({
        cc: { ...snapshot().cc, hasFinalizer: false },
        clientId: undefined,
        clientExists: undefined,
        issuerSecrets: undefined,
      }),
      minutes: 0,
      want: ["addFinalizer", "createClient"],
    },
    {
      name: "a given clientId that does not exist yet is created",
      given: snapshot({ clientExists: false, issuerSecrets: undefined }),
      minutes: 0,
      want: ["createClient"],
    },
    {
      name: "an existing client without a current secret gets one",
      given: snapshot({ issuerSecrets: [foreign("1")] }),
      minutes: 0,
      want: ["mint:initial"],
    },
    {
      name: "nothing to do before renewalTime",
      given: snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") }),
      minutes: 60,
      want: [],
    },
    {
      name: "renews at renewalTime",
      given: snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") }),
      minutes: 61,
      want: ["mint:renewal"],
    },
    {
      name: "replaces an expired current secret",
      given: snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") }),
      minutes: 121,
      want: ["mint:replace-lost"],
    },
    {
      name: "replaces a current secret revoked behind its back",
      given: snapshot({ versions: [version("1")], issuerSecrets: [], target: inSyncTarget("1") }),
      minutes: 10,
      want: ["mint:replace-lost"],
    },
    {
      name: "rotates for a new rotate request",
      given: snapshot({
        cc: { ...snapshot().cc, rotateRequest: "x" },
        versions: [version("1")],
        issuerSecrets: [mine("1")],
        target: inSyncTarget("1"),
      }),
      minutes: 10,
      want: ["mint:requested"],
    },
    {
      name: "does not rotate twice for the same request",
      given: snapshot({
        cc: { ...snapshot().cc, rotateRequest: "x" },
        versions: [version("1", { rotateRequest: "x" })],
        issuerSecrets: [mine("1")],
        target: inSyncTarget("1"),
      }),
      minutes: 10,
      want: [],
    },
    {
      name: "revokes an orphan (minted, never persisted)",
      given: snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("1"),
      }),
      minutes: 10,
      want: ["revoke:2:orphan"],
    },
    {
      name: "leaves secrets of others alone",
      given: snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), { ...mine("2"), description: describeWithMarker("x", OTHER, "a", 256) }],
        target: inSyncTarget("1"),
      }),
      minutes: 10,
      want: [],
    },
    {
      name: "resumes a persisted but unswitched version",
      given: snapshot({
        versions: [version("1"), version("2", { activatedAt: undefined })],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("1"),
      }),
      minutes: 10,
      want: ["resume"],
    },
    {
      name: "restores a missing target from the current version",
      given: snapshot({ versions: [version("1")], issuerSecrets: [mine("1")] }),
      minutes: 10,
      want: ["repairTarget"],
    },
    {
      name: "deletes the target left under an earlier secretName once the new one is written",
      given: snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1")],
        target: inSyncTarget("1"),
        staleTargets: ["old"],
      }),
      minutes: 10,
      want: ["deleteTarget"],
    },
    {
      name: "keeps the old target until the new one holds the secret",
      given: snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], staleTargets: ["old"] }),
      minutes: 10,
      want: ["repairTarget"],
    },
    {
      name: "restores a target that drifted",
      given: snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1")],
        target: target("1", { inSync: false }),
      }),
      minutes: 10,
      want: ["repairTarget"],
    },
    {
      name: "switches a target left on the previous secret (crash after activation)",
      given: snapshot({
        versions: [version("1"), version("2")],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("1"),
      }),
      minutes: 10,
      // Not superseded until the target is repaired: its grace period starts then.
      want: ["repairTarget"],
    },
    {
      name: "None: keeps a superseded secret during gracePeriod",
      given: snapshot(
        {
          versions: [version("1", { supersededAt: iso(10) }), version("10")],
          issuerSecrets: [mine("1"), mine("10")],
          target: inSyncTarget("10"),
        },
        { rollout: { strategy: "None" } },
      ),
      minutes: 14,
      want: [],
    },
    {
      name: "None: never revokes the secret a target still holds after a failed switch, however old the switch",
      given: snapshot(
        {
          versions: [version("1", { supersededAt: iso(10) }), version("10")],
          issuerSecrets: [mine("1"), mine("10")],
          target: inSyncTarget("1"),
        },
        { rollout: { strategy: "None" }, gracePeriod: "0s" },
      ),
      minutes: 60,
      want: ["repairTarget"],
    },
    {
      name: "None: revokes a superseded secret after gracePeriod",
      given: snapshot(
        {
          versions: [version("1", { supersededAt: iso(10) }), version("10")],
          issuerSecrets: [mine("1"), mine("10")],
          target: inSyncTarget("10"),
        },
        { rollout: { strategy: "None" } },
      ),
      minutes: 15,
      want: ["revoke:1:superseded"],
    },
    {
      name: "Restart: keeps a superseded secret for its consumers",
      given: snapshot({
        versions: [version("1", { supersededAt: iso(10) }), version("10")],
        issuerSecrets: [mine("1"), mine("10")],
        target: inSyncTarget("10"),
      }),
      minutes: 60,
      want: [],
    },
    {
      name: "OCS: reports a client named in the spec that the issuer does not know, and creates nothing",
      given: snapshot({
        clientOwnedByRotor: false,
        clientExists: false,
        issuerSecrets: undefined,
        issuer: {
          ok: true,
          tokenUrl: "http://issuer/token",
          maxDescriptionLength: 256,
          createsNamedClients: false,
        },
      }),
      minutes: 0,
      want: [],
      blocker: "IssuerError",
    },
    {
      name: "auth.self: keeps the bootstrap secret while pods still read the bootstrap Secret",
      given: bootstrapped([
        {
          name: "old",
          createdAt: at(1).getTime(),
          terminating: false,
          workload: { kind: "Pod", name: "old", apiVersion: "v1" },
        },
      ]),
      minutes: 30,
      want: [],
    },
    {
      name: "auth.self: keeps the bootstrap secret during gracePeriod after the first switch",
      given: bootstrapped([]),
      minutes: 14,
      want: [],
    },
    {
      name: "auth.self: revokes the bootstrap secret once nobody reads it and gracePeriod passed",
      given: bootstrapped([]),
      minutes: 15,
      want: ["revoke:3:bootstrap"],
    },
    {
      name: "auth.self: leaves the bootstrap secret before Rotor's own secret is in use",
      given: snapshot({
        versions: [version("10", { activatedAt: undefined })],
        issuerSecrets: [foreign("3"), mine("10")],
        target: { state: "missing" },
        bootstrap: { secretId: "3", secretName: "boot", consumers: undefined },
      }),
      minutes: 30,
      want: ["resume"],
    },
    {
      name: "revokes a superseded secret at its expiry, whatever the strategy",
      given: snapshot({
        versions: [version("1", { supersededAt: iso(10) }), version("70")],
        issuerSecrets: [mine("1"), mine("70")],
        target: inSyncTarget("70"),
      }),
      minutes: 121,
      want: ["revoke:1:expired"],
    },
    {
      name: "revokes a version that was never switched to",
      given: snapshot({
        versions: [version("1", { activatedAt: undefined }), version("2")],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("2"),
      }),
      minutes: 10,
      want: ["revoke:1:abandoned"],
    },
    {
      name: "does not mint past the budget",
      given: snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), ...["2", "3", "4", "5", "6", "7", "8", "9", "10"].map(foreign)],
        target: inSyncTarget("1"),
      }),
      minutes: 61,
      want: [],
      blocker: "SlotsExhausted",
    },
    {
      name: "frees its own orphan to stay within the budget",
      given: snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), mine("2"), ...["3", "4", "5", "6", "7", "8", "9", "10"].map(foreign)],
        target: inSyncTarget("1"),
      }),
      minutes: 61,
      want: ["revoke:2:orphan", "mint:renewal"],
    },
    {
      name: "honours a smaller maxSecrets",
      given: snapshot(
        {
          versions: [version("1", { supersededAt: iso(5) }), version("2")],
          issuerSecrets: [mine("1"), mine("2")],
          target: inSyncTarget("2"),
        },
        { maxSecrets: 2 },
      ),
      minutes: 63,
      want: [],
      blocker: "SlotsExhausted",
    },
    {
      name: "never overwrites a Secret it does not own",
      given: snapshot({ versions: [], issuerSecrets: [], target: { state: "foreign" } }),
      minutes: 0,
      want: [],
      blocker: "SecretConflict",
    },
    {
      name: "mints nothing for a client held by another ClientCredential",
      given: snapshot({ clientHeldBy: "other/app" }),
      minutes: 0,
      want: [],
      blocker: "ClientIdConflict",
    },
    {
      name: "reports an unreachable issuer",
      given: snapshot({ issuerError: "timeout", issuerSecrets: undefined, clientExists: undefined }),
      minutes: 0,
      want: [],
      blocker: "IssuerError",
    },
    {
      name: "reports an issuer the namespace may not use",
      given: snapshot({ issuer: { ok: false, reason: "IssuerNotAllowed", message: "no" } }),
      minutes: 0,
      want: [],
      blocker: "IssuerNotAllowed",
    },
  ])("$name", ({ given, minutes, want, blocker }) => {
    const plan = decide(given, at(minutes), options);
    expect(types(plan.actions)).toEqual(want);
    expect(plan.blocker?.reason).toBe(blocker);
  });

  it("schedules the next look at the renewal time", () => {
    const plan = decide(
      snapshot(
        { versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") },
        { rollout: { strategy: "None" } },
      ),
      at(30),
      options,
    );
    expect(plan.requeueAfterMs).toBe(31 * 60_000);
  });

  it("schedules the end of a grace period before the renewal", () => {
    const plan = decide(
      snapshot(
        {
          versions: [version("1", { supersededAt: iso(10) }), version("10")],
          issuerSecrets: [mine("1"), mine("10")],
          target: inSyncTarget("10"),
        },
        { rollout: { strategy: "None" } },
      ),
      at(12),
      options,
    );
    expect(plan.requeueAfterMs).toBe(3 * 60_000);
  });
});

describe("decide on deletion", () => {
  const deleting = (spec: Record<string, unknown>, overrides: Partial<Snapshot> = {}) => {
    const base = snapshot({}, spec);
    return snapshot(
      {
        cc: { ...base.cc, deletionTimestamp: iso(0) },
        versions: [version("1")],
        issuerSecrets: [mine("1"), foreign("2"), mine("3")],
        ...overrides,
      },
      spec,
    );
  };

  it.each<{ name: string; given: Snapshot; minutes: number; want: string[] }>([
    {
      name: "Revoke: revokes Rotor's secrets, deletes the client it created, then lets go",
      given: deleting({}),
      minutes: 1,
      want: ["revoke:1:deleting", "revoke:3:deleting", "deleteClient", "removeFinalizer"],
    },
    {
      name: "Revoke: keeps a client it did not create",
      given: deleting({}, { clientOwnedByRotor: false }),
      minutes: 1,
      want: ["revoke:1:deleting", "revoke:3:deleting", "removeFinalizer"],
    },
    {
      name: "Retain: leaves the issuer untouched and keeps the Secrets holding the values",
      given: deleting({ deletionPolicy: "Retain" }),
      minutes: 1,
      want: ["keepSecrets", "removeFinalizer"],
    },
    {
      name: "the CRD being deleted: revokes nothing, keeps the Secrets, warns",
      given: deleting({}, { definitionDeleting: true }),
      minutes: 1,
      want: ["keepSecrets", "removeFinalizer"],
    },
    {
      name: "waits for an unreachable issuer",
      given: deleting({}, { issuerError: "down" }),
      minutes: 5,
      want: [],
    },
    {
      name: "lets go after the finalizer timeout, with a warning",
      given: deleting({}, { issuerError: "down" }),
      minutes: 11,
      want: ["keepSecrets", "removeFinalizer"],
    },
  ])("$name", ({ given, minutes, want }) => {
    const plan = decide(given, at(minutes), options);
    expect(types(plan.actions)).toEqual(want);
  });

  it("says which secrets it could not revoke, and keeps the Secrets that hold them", () => {
    const plan = decide(deleting({}, { issuerError: "down" }), at(11), options);
    expect(plan.actions).toMatchObject([
      { type: "keepSecrets", names: [version("1").name] },
      { type: "removeFinalizer", warning: expect.stringContaining("secrets 1 of client client") },
    ]);
  });

  it("keeps the target Secret too when it is Rotor's", () => {
    const plan = decide(
      deleting({ deletionPolicy: "Retain" }, { target: inSyncTarget("1") }),
      at(1),
      options,
    );
    expect(plan.actions[0]).toMatchObject({ type: "keepSecrets", names: ["app", version("1").name] });
  });

  it("says loudly why a CRD deletion revokes nothing", () => {
    const plan = decide(deleting({}, { definitionDeleting: true }), at(1), options);
    expect(plan.actions.at(-1)).toMatchObject({
      type: "removeFinalizer",
      warning: expect.stringMatching(/CRD is being deleted.*Revoke is not carried out.*secrets 1 of client/),
    });
  });
});

describe("decide: the rollover gate (Restart and Observe)", () => {
  const deployment = { kind: "Deployment", name: "api", apiVersion: "apps/v1" };
  const job = { kind: "Job", name: "batch", apiVersion: "batch/v1" };
  const pod = (name: string, createdAtMinutes: number, workload = deployment) => ({
    name,
    createdAt: at(createdAtMinutes).getTime(),
    terminating: false,
    workload,
  });
  // Secret 1 superseded by secret 10 at minute 10.
  const rotated = (
    consumers: Snapshot["consumers"],
    spec: Record<string, unknown> = {},
    v1: Partial<Version> = {},
  ) =>
    snapshot(
      {
        versions: [version("1", { supersededAt: iso(10), ...v1 }), version("10")],
        issuerSecrets: [mine("1"), mine("10")],
        target: inSyncTarget("10"),
        consumers,
      },
      spec,
    );
  const state = (ref = deployment, over: Partial<{ paused: boolean; restartedFor: string[] }> = {}) => ({
    ref,
    paused: false,
    restartedFor: [] as string[],
    ...over,
  });

  it.each<{ name: string; given: Snapshot; minutes: number; want: string[]; notices: string[] }>([
    {
      name: "restarts the workload of a pod created before the switch",
      given: rotated({ pods: [pod("a", 5)], workloads: [state()] }),
      minutes: 11,
      want: ["restart"],
      notices: [],
    },
    {
      name: "does not restart twice for one switch",
      given: rotated({ pods: [pod("a", 5)], workloads: [state(deployment, { restartedFor: ["10"] })] }),
      minutes: 11,
      want: [],
      notices: [],
    },
    {
      name: "counts a pod created in the second of the switch as old",
      given: rotated({ pods: [pod("a", 10)], workloads: [state()] }),
      minutes: 11,
      want: ["restart"],
      notices: [],
    },
    {
      name: "waits for Jobs and bare pods without restarting them",
      given: rotated({ pods: [pod("a", 5, job)], workloads: [state(job)] }),
      minutes: 11,
      want: [],
      notices: [],
    },
    {
      name: "reports a paused Deployment instead of forcing it",
      given: rotated({ pods: [pod("a", 5)], workloads: [state(deployment, { paused: true })] }),
      minutes: 11,
      want: [],
      notices: ["RolloutPaused"],
    },
    {
      name: "Observe restarts nothing",
      given: rotated({ pods: [pod("a", 5)], workloads: [state()] }, { rollout: { strategy: "Observe" } }),
      minutes: 11,
      want: [],
      notices: [],
    },
    {
      name: "marks the rollover once no old pod is left",
      given: rotated({ pods: [pod("b", 11)], workloads: [state()] }),
      minutes: 12,
      want: ["markRolledOut"],
      notices: [],
    },
    {
      name: "waits gracePeriod after the rollover",
      given: rotated({ pods: [pod("b", 11)], workloads: [state()] }, {}, { rolledOutAt: iso(12) }),
      minutes: 16,
      want: [],
      notices: [],
    },
    {
      name: "revokes gracePeriod after the rollover",
      given: rotated({ pods: [pod("b", 11)], workloads: [state()] }, {}, { rolledOutAt: iso(12) }),
      minutes: 17,
      want: ["revoke:1:superseded"],
      notices: [],
    },
    {
      name: "reports RolloutTimeout and keeps the secret",
      given: rotated(
        { pods: [pod("a", 5)], workloads: [state(deployment, { restartedFor: ["10"] })] },
        { rollout: { timeout: "30m" } },
      ),
      minutes: 41,
      want: [],
      notices: ["RolloutTimeout"],
    },
    {
      name: "revokes at expiry with ConsumersOutlivedSecret (and renews the current one, due too)",
      given: rotated({ pods: [pod("a", 5)], workloads: [state(deployment, { restartedFor: ["10"] })] }),
      minutes: 121,
      want: ["revoke:1:expired", "mint:renewal"],
      notices: ["ConsumersOutlivedSecret"],
    },
  ])("$name", ({ given, minutes, want, notices }) => {
    const plan = decide(given, at(minutes), options);
    expect(types(plan.actions)).toEqual(want);
    expect(plan.notices.map((n) => n.reason)).toEqual(notices);
  });

  it("looks again within the re-check interval while a rollover is pending", () => {
    const plan = decide(rotated({ pods: [pod("a", 5)], workloads: [state()] }), at(11), options);
    expect(plan.requeueAfterMs).toBe(5000);
  });
});

describe("decide: the consumer resync is spread over the period by uid", () => {
  const PERIOD = 10 * 60_000; // shorter than the 31 minutes to the renewal: the resync is the next look
  const resync = { ...options, consumerResyncMs: PERIOD };
  /** A settled ClientCredential (secret 1 current, renewal at minute 61) with this uid and strategy. */
  const settled = (uid: string, strategy = "Restart", overrides: Partial<Snapshot> = {}) => {
    const base = snapshot(
      {
        versions: [version("1")],
        issuerSecrets: [mine("1")],
        target: inSyncTarget("1"),
        consumers: { pods: [], workloads: [] },
        ...overrides,
      },
      { rollout: { strategy } },
    );
    return { ...base, cc: { ...base.cc, uid } };
  };
  /** When the plan looks again, as a time. */
  const nextLook = (given: Snapshot, t: Date) => {
    const { requeueAfterMs } = decide(given, t, resync);
    return requeueAfterMs === undefined ? undefined : t.getTime() + requeueAfterMs;
  };
  const uid = (i: number) => `${i.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;

  it("gives two ClientCredentials created at the same instant different resync times", () => {
    for (const strategy of ["Restart", "Observe"]) {
      const a = nextLook(settled(UID, strategy), at(30)) as number;
      const b = nextLook(settled(OTHER, strategy), at(30)) as number;
      expect(a).not.toBe(b);
      for (const next of [a, b]) {
        expect(next).toBeGreaterThan(at(30).getTime());
        expect(next).toBeLessThanOrEqual(at(30).getTime() + PERIOD + 1000);
      }
    }
  });

  it("spreads 1,000 ClientCredentials reconciled in the same instant over the whole period", () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      const next = nextLook(settled(uid(i)), at(30)) as number;
      const offset = next - at(30).getTime() - 1000; // [0, PERIOD)
      buckets[Math.floor((offset / PERIOD) * 10)]++;
    }
    // Evenly spread: each tenth of the period has about 100 (not 1,000 in one minute).
    for (const n of buckets) expect(n).toBeLessThan(150);
  });

  it("keeps a ClientCredential's slot whenever it is reconciled, and wakes it once per period", () => {
    const given = settled(UID);
    const slot = nextLook(given, at(30)) as number;
    // Woken by other events in between: the slot stays.
    for (const ms of [1, 60_000, slot - at(30).getTime() - 1001])
      expect(nextLook(given, new Date(at(30).getTime() + ms))).toBe(slot);
    // Reconciled at its slot (or a few ms late): the next one is one period on, never at once.
    for (const late of [0, 5, 900]) expect(nextLook(given, new Date(slot + late))).toBe(slot + PERIOD);
    // Just before its slot (a clock a little behind): the next slot, not a second wake-up at once.
    expect(nextLook(given, new Date(slot - 10))).toBe(slot + PERIOD);
  });

  it.each<{ name: string; given: Snapshot; want: number | undefined }>([
    { name: "strategy None looks again only at the renewal", given: settled(UID, "None"), want: 31 * 60_000 },
    {
      name: "no secret switched to yet: no resync (pods are not listed before there is one)",
      given: settled(UID, "Restart", {
        versions: [],
        issuerSecrets: [],
        target: { state: "missing" },
        consumers: undefined,
        issuer: { ok: false, reason: "IssuerError", message: "down" },
      }),
      want: undefined,
    },
  ])("$name", ({ given, want }) => {
    expect(decide(given, at(30), resync).requeueAfterMs).toBe(want);
  });

  it("spreads the re-check of pods still reading a bootstrap Secret the same way", () => {
    const reading = (id: string) => {
      const base = bootstrapped([
        {
          name: "old",
          createdAt: at(1).getTime(),
          terminating: false,
          workload: { kind: "Pod", name: "old", apiVersion: "v1" },
        },
      ]);
      return { ...base, cc: { ...base.cc, uid: id } };
    };
    const a = decide(reading(UID), at(30), resync).requeueAfterMs as number;
    const b = decide(reading(OTHER), at(30), resync).requeueAfterMs as number;
    expect(a).not.toBe(b);
    for (const ms of [a, b]) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(61_000);
    }
  });
});
