/**
 * decide, where a tenant or a clock could mislead it: forged version Secrets, clients owned by
 * another ClientCredential, live secrets that lost their version Secret, and switch times.
 */
import { describe, expect, it } from "vitest";
import { decide } from "../../../../src/controllers/clientcredential/decide.ts";
import {
  type Action,
  describeWithMarker,
  type Snapshot,
} from "../../../../src/controllers/clientcredential/model.ts";
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
  version,
} from "./builders.ts";

const deleting = (overrides: Partial<Snapshot>) => {
  const base = snapshot();
  return snapshot({
    cc: { ...base.cc, deletionTimestamp: iso(0) },
    versions: [version("1")],
    issuerSecrets: [mine("1")],
    ...overrides,
  });
};
const theirs = (id: string) => ({
  ...mine(id),
  description: describeWithMarker("app", OTHER, `m${id}`, 256),
});
const current = { versions: [version("1")], issuerSecrets: [mine("1")], target: inSyncTarget("1") };

describe("decide: ownership of the client", () => {
  it.each<{
    name: string;
    given: Snapshot;
    minutes: number;
    want: string[];
    blocker?: string;
    notices?: string[];
  }>([
    {
      name: "ignores and reports Secrets posing as versions of another client",
      given: snapshot({ ...current, foreignVersions: ["app-forged"] }),
      minutes: 10,
      want: [],
      notices: ["ForeignVersionIgnored"],
    },
    {
      name: "gives back what it minted for a client another ClientCredential holds",
      given: snapshot({ ...current, clientHeldBy: "other/app", issuerSecrets: [mine("1"), theirs("2")] }),
      minutes: 10,
      want: ["revoke:1:conflict", "deleteTarget"],
      blocker: "ClientIdConflict",
    },
    {
      name: "mints nothing for a client the issuer records as another ClientCredential's",
      given: snapshot({ clientOwnedByRotor: false, clientOwner: OTHER, issuerSecrets: [] }),
      minutes: 0,
      want: [],
      blocker: "ClientIdConflict",
    },
    {
      name: "claims a client with no recorded owner before minting for it",
      given: snapshot({ clientOwnedByRotor: false, issuerRecordsClaims: true, issuerSecrets: [] }),
      minutes: 0,
      want: ["claimClient", "mint:initial"],
    },
    {
      name: "does not claim a client it owns",
      given: snapshot({
        issuerRecordsClaims: true,
        clientOwner: "11111111-1111-4111-8111-111111111111",
        issuerSecrets: [],
      }),
      minutes: 0,
      want: ["mint:initial"],
    },
    {
      name: "where the issuer cannot record claims, claims nothing",
      given: snapshot({ clientOwnedByRotor: false, issuerRecordsClaims: false, issuerSecrets: [] }),
      minutes: 0,
      want: ["mint:initial"],
    },
  ])("$name", ({ given, minutes, want, blocker, notices = [] }) => {
    const plan = decide(given, at(minutes), options);
    expect(types(plan.actions)).toEqual(want);
    expect(plan.blocker?.reason).toBe(blocker);
    expect(plan.notices.map((n) => n.reason)).toEqual(notices);
  });

  it.each<{ name: string; given: Snapshot; want: string[] }>([
    {
      name: "never deletes a client the issuer records as another's, nor revokes its secrets",
      given: deleting({ clientOwner: OTHER, versions: [], issuerSecrets: [theirs("1")] }),
      want: ["removeFinalizer"],
    },
    {
      name: "revokes only what it minted for a client another ClientCredential holds",
      given: deleting({ clientHeldBy: "other/app", issuerSecrets: [mine("1"), theirs("2")] }),
      want: ["revoke:1:deleting", "removeFinalizer"],
    },
    {
      name: "lets go of a named client it claimed",
      given: deleting({ clientOwnedByRotor: false, clientOwner: "11111111-1111-4111-8111-111111111111" }),
      want: ["revoke:1:deleting", "releaseClient", "removeFinalizer"],
    },
  ])("on deletion: $name", ({ given, want }) => {
    expect(types(decide(given, at(1), options).actions)).toEqual(want);
  });
});

describe("decide: a live secret is never revoked as an orphan", () => {
  const restored = (given: Snapshot, minutes = 10) =>
    decide(given, at(minutes), options).actions.filter(
      (a): a is Extract<Action, { type: "restoreVersion" }> => a.type === "restoreVersion",
    );

  it("rebuilds the version of the secret in the target Secret, from the target, as current", () => {
    const given = snapshot({ versions: [], issuerSecrets: [mine("1")], target: target("1") });
    expect(types(decide(given, at(10), options).actions)).toEqual(["restoreVersion"]);
    expect(restored(given)).toEqual([
      expect.objectContaining({ secretId: "1", valueFromTarget: true, supersededAt: undefined }),
    ]);
  });

  it("rebuilds a superseded secret that status lists, without its value, to wait for the rollover", () => {
    const base = snapshot();
    const given = snapshot({
      cc: {
        ...base.cc,
        status: { secrets: [{ id: "1", state: "Superseded", createdAt: iso(1), supersededAt: iso(10) }] },
      },
      versions: [version("10")],
      issuerSecrets: [mine("1"), mine("10")],
      target: inSyncTarget("10"),
    });
    expect(types(decide(given, at(11), options).actions)).toEqual(["restoreVersion"]);
    expect(restored(given, 11)).toEqual([
      expect.objectContaining({
        secretId: "1",
        valueFromTarget: false,
        supersededAt: iso(10),
        createdAt: iso(1),
      }),
    ]);
  });

  it("a secret in the target that an older version shadows is restored as superseded", () => {
    const given = snapshot({
      versions: [version("10")],
      issuerSecrets: [mine("1"), mine("10")],
      target: target("1"),
    });
    expect(restored(given)).toEqual([
      expect.objectContaining({ secretId: "1", supersededAt: expect.any(String) }),
    ]);
  });

  it("a forged target annotation does not make Rotor adopt a secret it did not mint", () => {
    const given = snapshot({ versions: [], issuerSecrets: [foreign("5")], target: target("5") });
    expect(types(decide(given, at(10), options).actions)).toEqual(["mint:initial"]);
  });

  it("a secret of Rotor's that nothing holds is still an orphan", () => {
    const given = snapshot({ ...current, issuerSecrets: [mine("1"), mine("2")] });
    expect(types(decide(given, at(10), options).actions)).toEqual(["revoke:2:orphan"]);
  });
});

describe("decide: clocks", () => {
  const deployment = { kind: "Deployment", name: "api", apiVersion: "apps/v1" };
  const pod = (minute: number) => ({
    name: "p",
    createdAt: at(minute).getTime(),
    terminating: false,
    workload: deployment,
  });
  const rotated = (over: Partial<Snapshot>, spec: Record<string, unknown> = {}) =>
    snapshot(
      {
        versions: [version("1", { supersededAt: iso(10) }), version("10")],
        issuerSecrets: [mine("1"), mine("10")],
        target: inSyncTarget("10"),
        ...over,
      },
      spec,
    );

  it("marks a switch with the API server's time of the target write, not Rotor's clock", () => {
    const given = rotated({
      versions: [version("1"), version("10")],
      target: target("10", { writtenAt: "2026-11-27T10:10:07.000Z" }),
    });
    const plan = decide(given, at(12), options);
    expect(plan.actions).toContainEqual({
      type: "markSuperseded",
      versionName: "app-1",
      at: "2026-11-27T10:10:07.000Z",
    });
  });

  it("restarts a workload stamped for an older secret, and not one stamped for the current", () => {
    const workload = (restartedFor: string[]) => ({ ref: deployment, paused: false, restartedFor });
    expect(
      types(
        decide(rotated({ consumers: { pods: [pod(5)], workloads: [workload(["1"])] } }), at(11), options)
          .actions,
      ),
    ).toEqual(["restart"]);
    expect(
      types(
        decide(rotated({ consumers: { pods: [pod(5)], workloads: [workload(["10"])] } }), at(11), options)
          .actions,
      ),
    ).toEqual([]);
  });

  it("waits at least the grace period floor after a rollover, whatever gracePeriod says", () => {
    const given = rotated(
      {
        versions: [version("1", { supersededAt: iso(10), rolledOutAt: iso(12) }), version("10")],
        consumers: { pods: [], workloads: [] },
      },
      { gracePeriod: "0s" },
    );
    const floor = { ...options, gracePeriodFloorMs: 60_000 };
    expect(types(decide(given, new Date(at(12).getTime() + 30_000), floor).actions)).toEqual([]);
    expect(types(decide(given, at(13), floor).actions)).toEqual(["revoke:1:superseded"]);
    // strategy None waits for no pod: its gracePeriod is the user's alone.
    const none = rotated({}, { gracePeriod: "0s", rollout: { strategy: "None" } });
    expect(types(decide(none, at(11), floor).actions)).toEqual(["revoke:1:superseded"]);
  });
});
