/** The ClientCredential policy, as tables of snapshots and expected plans. */
import { describe, expect, it } from "vitest";
import { clientCredentialSpec } from "../../../src/api/clientcredential.ts";
import { decide } from "../../../src/controllers/clientcredential/decide.ts";
import {
  type Action,
  describeWithMarker,
  type Snapshot,
  type Version,
} from "../../../src/controllers/clientcredential/model.ts";
import type { IssuerSecret } from "../../../src/issuers/issuer.ts";

const UID = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";
const T0 = Date.parse("2026-11-27T10:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const iso = (minutes: number) => at(minutes).toISOString();
const options = { finalizerTimeoutMs: 10 * 60_000, consumerResyncMs: 60 * 60_000, gracePeriodFloorMs: 0 };

function version(id: string, overrides: Partial<Version> = {}): Version {
  return {
    name: `app-${id}`,
    secretId: id,
    clientId: "client",
    createdAt: iso(Number(id)),
    notAfter: iso(Number(id) + 120),
    mintId: `m${id}`,
    rotateRequest: undefined,
    activatedAt: iso(Number(id)),
    supersededAt: undefined,
    rolledOutAt: undefined,
    hasValue: true,
    ...overrides,
  };
}

const mine = (id: string): IssuerSecret => ({
  id,
  description: describeWithMarker("app", UID, `m${id}`, 256),
  expiration: iso(Number(id) + 120),
});
const foreign = (id: string): IssuerSecret => ({ id, description: `by hand ${id}`, expiration: iso(600) });

function snapshot(overrides: Partial<Snapshot> = {}, spec: Record<string, unknown> = {}): Snapshot {
  return {
    cc: {
      uid: UID,
      name: "app",
      namespace: "ns",
      generation: 1,
      deletionTimestamp: undefined,
      hasFinalizer: true,
      rotateRequest: undefined,
      spec: clientCredentialSpec.parse({
        description: "app",
        validity: "2h",
        renewBefore: "1h",
        gracePeriod: "5m",
        ...spec,
      }),
      status: {},
    },
    secretName: "app",
    clientId: "client",
    clientOwnedByRotor: true,
    clientOwner: undefined,
    issuerRecordsClaims: false,
    bootstrap: undefined,
    clientHeldBy: undefined,
    issuer: {
      ok: true,
      tokenUrl: "http://issuer/token",
      maxDescriptionLength: 256,
      createsNamedClients: true,
    },
    clientExists: true,
    issuerSecrets: [],
    issuerError: undefined,
    target: { state: "missing" },
    versions: [],
    foreignVersions: [],
    consumers: undefined,
    staleTargets: [],
    ...overrides,
  };
}

const target = (id: string, over: { inSync?: boolean; hasValue?: boolean; writtenAt?: string } = {}) => ({
  state: "owned" as const,
  secretId: id,
  inSync: true,
  hasValue: true,
  writtenAt: undefined,
  ...over,
});
const inSyncTarget = (id: string) => target(id);

/** auth.self: bootstrap secret 3, replaced at minute 10 by Rotor's secret 10; `pods` read the bootstrap Secret. */
const bootstrapped = (pods: NonNullable<Snapshot["consumers"]>["pods"]) =>
  snapshot({
    versions: [version("10")],
    issuerSecrets: [foreign("3"), mine("10")],
    target: inSyncTarget("10"),
    consumers: { pods: [], workloads: [] },
    bootstrap: { secretId: "3", secretName: "boot", consumers: { pods, workloads: [] } },
  });
const types = (actions: Action[]) =>
  actions.map((a) =>
    a.type === "revoke"
      ? `revoke:${a.secretId}:${a.reason}`
      : a.type === "mint"
        ? `mint:${a.reason}`
        : a.type,
  );

describe("decide", () => {
  it.each<[string, Snapshot, number, string[], string | undefined]>([
    [
      "a new ClientCredential gets its finalizer and a client",
      snapshot({
        cc: { ...snapshot().cc, hasFinalizer: false },
        clientId: undefined,
        clientExists: undefined,
        issuerSecrets: undefined,
      }),
      0,
      ["addFinalizer", "createClient"],
      undefined,
    ],
    [
      "a given clientId that does not exist yet is created",
      snapshot({ clientExists: false, issuerSecrets: undefined }),
      0,
      ["createClient"],
      undefined,
    ],
    [
      "an existing client without a current secret gets one",
      snapshot({ issuerSecrets: [foreign("1")] }),
      0,
      ["mint:initial"],
      undefined,
    ],
    [
      "nothing to do before renewalTime",
      snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") }),
      60,
      [],
      undefined,
    ],
    [
      "renews at renewalTime",
      snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") }),
      61,
      ["mint:renewal"],
      undefined,
    ],
    [
      "replaces an expired current secret",
      snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") }),
      121,
      ["mint:replace-lost"],
      undefined,
    ],
    [
      "replaces a current secret revoked behind its back",
      snapshot({ versions: [version("1")], issuerSecrets: [], target: inSyncTarget("1") }),
      10,
      ["mint:replace-lost"],
      undefined,
    ],
    [
      "rotates for a new rotate request",
      snapshot({
        cc: { ...snapshot().cc, rotateRequest: "x" },
        versions: [version("1")],
        issuerSecrets: [mine("1")],
        target: inSyncTarget("1"),
      }),
      10,
      ["mint:requested"],
      undefined,
    ],
    [
      "does not rotate twice for the same request",
      snapshot({
        cc: { ...snapshot().cc, rotateRequest: "x" },
        versions: [version("1", { rotateRequest: "x" })],
        issuerSecrets: [mine("1")],
        target: inSyncTarget("1"),
      }),
      10,
      [],
      undefined,
    ],
    [
      "revokes an orphan (minted, never persisted)",
      snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("1"),
      }),
      10,
      ["revoke:2:orphan"],
      undefined,
    ],
    [
      "leaves secrets of others alone",
      snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), { ...mine("2"), description: describeWithMarker("x", OTHER, "a", 256) }],
        target: inSyncTarget("1"),
      }),
      10,
      [],
      undefined,
    ],
    [
      "resumes a persisted but unswitched version",
      snapshot({
        versions: [version("1"), version("2", { activatedAt: undefined })],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("1"),
      }),
      10,
      ["resume"],
      undefined,
    ],
    [
      "restores a missing target from the current version",
      snapshot({ versions: [version("1")], issuerSecrets: [mine("1")] }),
      10,
      ["repairTarget"],
      undefined,
    ],
    [
      "deletes the target left under an earlier secretName once the new one is written",
      snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1")],
        target: inSyncTarget("1"),
        staleTargets: ["old"],
      }),
      10,
      ["deleteStaleTarget"],
      undefined,
    ],
    [
      "keeps the old target until the new one holds the secret",
      snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], staleTargets: ["old"] }),
      10,
      ["repairTarget"],
      undefined,
    ],
    [
      "restores a target that drifted",
      snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1")],
        target: target("1", { inSync: false }),
      }),
      10,
      ["repairTarget"],
      undefined,
    ],
    [
      "switches a target left on the previous secret (crash after activation)",
      snapshot({
        versions: [version("1"), version("2")],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("1"),
      }),
      10,
      ["markSuperseded", "repairTarget"],
      undefined,
    ],
    [
      "None: keeps a superseded secret during gracePeriod",
      snapshot(
        {
          versions: [version("1", { supersededAt: iso(10) }), version("10")],
          issuerSecrets: [mine("1"), mine("10")],
          target: inSyncTarget("10"),
        },
        { rollout: { strategy: "None" } },
      ),
      14,
      [],
      undefined,
    ],
    [
      "None: revokes a superseded secret after gracePeriod",
      snapshot(
        {
          versions: [version("1", { supersededAt: iso(10) }), version("10")],
          issuerSecrets: [mine("1"), mine("10")],
          target: inSyncTarget("10"),
        },
        { rollout: { strategy: "None" } },
      ),
      15,
      ["revoke:1:superseded"],
      undefined,
    ],
    [
      "Restart: keeps a superseded secret for its consumers",
      snapshot({
        versions: [version("1", { supersededAt: iso(10) }), version("10")],
        issuerSecrets: [mine("1"), mine("10")],
        target: inSyncTarget("10"),
      }),
      60,
      [],
      undefined,
    ],
    [
      "OCS: reports a client named in the spec that the issuer does not know, and creates nothing",
      snapshot({
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
      0,
      [],
      "IssuerError",
    ],
    [
      "auth.self: keeps the bootstrap secret while pods still read the bootstrap Secret",
      bootstrapped([
        {
          name: "old",
          createdAt: at(1).getTime(),
          terminating: false,
          workload: { kind: "Pod", name: "old", apiVersion: "v1" },
        },
      ]),
      30,
      [],
      undefined,
    ],
    [
      "auth.self: keeps the bootstrap secret during gracePeriod after the first switch",
      bootstrapped([]),
      14,
      [],
      undefined,
    ],
    [
      "auth.self: revokes the bootstrap secret once nobody reads it and gracePeriod passed",
      bootstrapped([]),
      15,
      ["revoke:3:bootstrap"],
      undefined,
    ],
    [
      "auth.self: leaves the bootstrap secret before Rotor's own secret is in use",
      snapshot({
        versions: [version("10", { activatedAt: undefined })],
        issuerSecrets: [foreign("3"), mine("10")],
        target: { state: "missing" },
        bootstrap: { secretId: "3", secretName: "boot", consumers: undefined },
      }),
      30,
      ["resume"],
      undefined,
    ],
    [
      "revokes a superseded secret at its expiry, whatever the strategy",
      snapshot({
        versions: [version("1", { supersededAt: iso(10) }), version("70")],
        issuerSecrets: [mine("1"), mine("70")],
        target: inSyncTarget("70"),
      }),
      121,
      ["revoke:1:expired"],
      undefined,
    ],
    [
      "revokes a version that was never switched to",
      snapshot({
        versions: [version("1", { activatedAt: undefined }), version("2")],
        issuerSecrets: [mine("1"), mine("2")],
        target: inSyncTarget("2"),
      }),
      10,
      ["revoke:1:abandoned"],
      undefined,
    ],
    [
      "does not mint past the budget",
      snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), ...["2", "3", "4", "5", "6", "7", "8", "9", "10"].map(foreign)],
        target: inSyncTarget("1"),
      }),
      61,
      [],
      "SlotsExhausted",
    ],
    [
      "frees its own orphan to stay within the budget",
      snapshot({
        versions: [version("1")],
        issuerSecrets: [mine("1"), mine("2"), ...["3", "4", "5", "6", "7", "8", "9", "10"].map(foreign)],
        target: inSyncTarget("1"),
      }),
      61,
      ["revoke:2:orphan", "mint:renewal"],
      undefined,
    ],
    [
      "honours a smaller maxSecrets",
      snapshot(
        {
          versions: [version("1", { supersededAt: iso(5) }), version("2")],
          issuerSecrets: [mine("1"), mine("2")],
          target: inSyncTarget("2"),
        },
        { maxSecrets: 2 },
      ),
      63,
      [],
      "SlotsExhausted",
    ],
    [
      "never overwrites a Secret it does not own",
      snapshot({ versions: [], issuerSecrets: [], target: { state: "foreign" } }),
      0,
      [],
      "SecretConflict",
    ],
    [
      "mints nothing for a client held by another ClientCredential",
      snapshot({ clientHeldBy: "other/app" }),
      0,
      [],
      "ClientIdConflict",
    ],
    [
      "reports an unreachable issuer",
      snapshot({ issuerError: "timeout", issuerSecrets: undefined, clientExists: undefined }),
      0,
      [],
      "IssuerError",
    ],
    [
      "reports an issuer the namespace may not use",
      snapshot({ issuer: { ok: false, reason: "IssuerNotAllowed", message: "no" } }),
      0,
      [],
      "IssuerNotAllowed",
    ],
  ])("%s", (_what, input, minutes, expected, blocker) => {
    const plan = decide(input, at(minutes), options);
    expect(types(plan.actions)).toEqual(expected);
    expect(plan.blocker?.reason).toBe(blocker);
  });

  it("schedules the next look at the renewal time", () => {
    const plan = decide(
      snapshot({ versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") }),
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

  it.each<[string, Snapshot, number, string[]]>([
    [
      "Revoke: revokes Rotor's secrets, deletes the client it created, then lets go",
      deleting({}),
      1,
      ["revoke:1:deleting", "revoke:3:deleting", "deleteClient", "removeFinalizer"],
    ],
    [
      "Revoke: keeps a client it did not create",
      deleting({}, { clientOwnedByRotor: false }),
      1,
      ["revoke:1:deleting", "revoke:3:deleting", "removeFinalizer"],
    ],
    ["Retain: leaves the issuer untouched", deleting({ deletionPolicy: "Retain" }), 1, ["removeFinalizer"]],
    ["waits for an unreachable issuer", deleting({}, { issuerError: "down" }), 5, []],
    [
      "lets go after the finalizer timeout, with a warning",
      deleting({}, { issuerError: "down" }),
      11,
      ["removeFinalizer"],
    ],
  ])("%s", (_what, input, minutes, expected) => {
    const plan = decide(input, at(minutes), options);
    expect(types(plan.actions)).toEqual(expected);
  });

  it("says which secrets it could not revoke", () => {
    const plan = decide(deleting({}, { issuerError: "down" }), at(11), options);
    expect(plan.actions[0]).toMatchObject({
      type: "removeFinalizer",
      warning: expect.stringContaining("secrets 1 of client client"),
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

  it.each<[string, Snapshot, number, string[], string[]]>([
    [
      "restarts the workload of a pod created before the switch",
      rotated({ pods: [pod("a", 5)], workloads: [state()] }),
      11,
      ["restart"],
      [],
    ],
    [
      "does not restart twice for one switch",
      rotated({ pods: [pod("a", 5)], workloads: [state(deployment, { restartedFor: ["10"] })] }),
      11,
      [],
      [],
    ],
    [
      "counts a pod created in the second of the switch as old",
      rotated({ pods: [pod("a", 10)], workloads: [state()] }),
      11,
      ["restart"],
      [],
    ],
    [
      "waits for Jobs and bare pods without restarting them",
      rotated({ pods: [pod("a", 5, job)], workloads: [state(job)] }),
      11,
      [],
      [],
    ],
    [
      "reports a paused Deployment instead of forcing it",
      rotated({ pods: [pod("a", 5)], workloads: [state(deployment, { paused: true })] }),
      11,
      [],
      ["RolloutPaused"],
    ],
    [
      "Observe restarts nothing",
      rotated({ pods: [pod("a", 5)], workloads: [state()] }, { rollout: { strategy: "Observe" } }),
      11,
      [],
      [],
    ],
    [
      "marks the rollover once no old pod is left",
      rotated({ pods: [pod("b", 11)], workloads: [state()] }),
      12,
      ["markRolledOut"],
      [],
    ],
    [
      "waits gracePeriod after the rollover",
      rotated({ pods: [pod("b", 11)], workloads: [state()] }, {}, { rolledOutAt: iso(12) }),
      16,
      [],
      [],
    ],
    [
      "revokes gracePeriod after the rollover",
      rotated({ pods: [pod("b", 11)], workloads: [state()] }, {}, { rolledOutAt: iso(12) }),
      17,
      ["revoke:1:superseded"],
      [],
    ],
    [
      "reports RolloutTimeout and keeps the secret",
      rotated(
        { pods: [pod("a", 5)], workloads: [state(deployment, { restartedFor: ["10"] })] },
        { rollout: { timeout: "30m" } },
      ),
      41,
      [],
      ["RolloutTimeout"],
    ],
    [
      "revokes at expiry with ConsumersOutlivedSecret (and renews the current one, due too)",
      rotated({ pods: [pod("a", 5)], workloads: [state(deployment, { restartedFor: ["10"] })] }),
      121,
      ["revoke:1:expired", "mint:renewal"],
      ["ConsumersOutlivedSecret"],
    ],
  ])("%s", (_what, input, minutes, expected, notices) => {
    const plan = decide(input, at(minutes), options);
    expect(types(plan.actions)).toEqual(expected);
    expect(plan.notices.map((n) => n.reason)).toEqual(notices);
  });

  it("looks again within the re-check interval while a rollover is pending", () => {
    const plan = decide(rotated({ pods: [pod("a", 5)], workloads: [state()] }), at(11), options);
    expect(plan.requeueAfterMs).toBe(5000);
  });
});
