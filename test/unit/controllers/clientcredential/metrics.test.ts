/**
 * The ClientCredential metrics: a table from status to series (`seriesOf`), and the series a
 * registry exports as statuses change and ClientCredentials go (labels, removal, cardinality).
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { ClientCredentialStatus } from "../../../../src/api/clientcredential.ts";
import {
  CredentialMetrics,
  type CredentialSeries,
  issuerRefOf,
  seriesOf,
} from "../../../../src/controllers/clientcredential/metrics.ts";
import { computeStatus } from "../../../../src/controllers/clientcredential/status.ts";
import { inSyncTarget, iso, mine, snapshot, version } from "./builders.ts";

const condition = (type: string, status: string, reason: string) => ({
  type,
  status: status as "True" | "False" | "Unknown",
  reason,
  message: "m",
  lastTransitionTime: iso(0),
});

const ready: ClientCredentialStatus = {
  notAfter: "2026-11-27T12:00:00Z",
  renewalTime: "2026-11-27T11:00:00Z",
  secrets: [
    { id: "1", state: "Superseded" },
    { id: "2", state: "Superseded" },
    { id: "3", state: "Current" },
  ],
  slots: { used: 3, max: 4 },
  consumers: { total: 5, updated: 3, summary: "3/5" },
  conditions: [
    condition("Ready", "True", "Issued"),
    condition("Rotating", "False", "UpToDate"),
    condition("RolledOut", "False", "RolloutTimeout"),
    condition("SomethingElse", "True", "Ignored"),
  ],
};

describe("seriesOf", () => {
  it.each<{ name: string; status: ClientCredentialStatus; want: Partial<CredentialSeries> }>([
    {
      name: "every field of a Ready status with two superseded secrets and two workloads behind",
      status: ready,
      want: {
        expirationTimestampSeconds: Date.parse("2026-11-27T12:00:00Z") / 1000,
        renewalTimestampSeconds: Date.parse("2026-11-27T11:00:00Z") / 1000,
        slotsUsed: 3,
        maxSecrets: 4,
        supersededSecrets: 2,
        rolloverPendingWorkloads: 2,
        ready: "True",
        conditions: [
          { type: "Ready", status: "True", reason: "Issued" },
          { type: "Rotating", status: "False", reason: "UpToDate" },
          { type: "RolledOut", status: "False", reason: "RolloutTimeout" },
        ],
      },
    },
    {
      name: "no secret yet, issuer unreachable: no timestamps, no slots, no consumers",
      status: { conditions: [condition("Ready", "False", "IssuerError")] },
      want: {
        expirationTimestampSeconds: undefined,
        renewalTimestampSeconds: undefined,
        slotsUsed: undefined,
        maxSecrets: undefined,
        supersededSecrets: 0,
        rolloverPendingWorkloads: undefined,
        ready: "False",
        conditions: [{ type: "Ready", status: "False", reason: "IssuerError" }],
      },
    },
    {
      name: "no Ready condition reads as Unknown; an unparsable time gives no series",
      status: { notAfter: "not a time", conditions: [] },
      want: { ready: "Unknown", expirationTimestampSeconds: undefined, conditions: [] },
    },
  ])("$name", ({ status, want }) => {
    expect(seriesOf(status)).toMatchObject(want);
  });

  it("reads a computed status: a rotation waiting for its consumers is one superseded secret, RolloutPending", () => {
    const given = snapshot(
      {
        versions: [version("1", { supersededAt: iso(10) }), version("10")],
        issuerSecrets: [mine("1"), mine("10")],
        target: inSyncTarget("10"),
      },
      { rollout: { strategy: "Observe" }, maxSecrets: 3 },
    );
    const status = computeStatus(
      given,
      { actions: [], blocker: undefined, requeueAfterMs: undefined, notices: [] },
      new Date(Date.parse(iso(11))),
      { failedAttempts: 0, lastFailureTime: undefined, lastError: undefined },
    );
    const series = seriesOf(status);
    expect(series).toMatchObject({
      slotsUsed: 2,
      maxSecrets: 3,
      supersededSecrets: 1,
      ready: "True",
      expirationTimestampSeconds: Date.parse(version("10").notAfter) / 1000,
    });
    expect(series.conditions).toContainEqual({
      type: "RolledOut",
      status: "False",
      reason: "RolloutPending",
    });
  });
});

describe("issuerRefOf (a spec the schema refused)", () => {
  it.each<[string, unknown, unknown]>([
    [
      "a plain reference",
      { issuerRef: { kind: "CredentialIssuer", name: "adh" } },
      { kind: "CredentialIssuer", name: "adh" },
    ],
    ["no reference: the embedded issuer", { description: "x" }, undefined],
    ["an unknown kind", { issuerRef: { kind: "Secret", name: "adh" } }, undefined],
    ["a name that is not a string", { issuerRef: { kind: "CredentialIssuer", name: 7 } }, undefined],
    ["an oversized name", { issuerRef: { kind: "CredentialIssuer", name: "a".repeat(254) } }, undefined],
    ["no spec", undefined, undefined],
  ])("%s", (_name, spec, want) => {
    expect(issuerRefOf(spec)).toEqual(want);
  });
});

/** The exported samples of the per-credential metrics, as `name{labels} value` lines. */
async function samples(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .filter((line) => !/^rotor_(rotations_total|reconcile_duration_seconds)/.test(line))
    .sort();
}

describe("CredentialMetrics", () => {
  const team = { namespace: "team-a", name: "api", issuerRef: { kind: "CredentialIssuer", name: "adh" } };
  const labels = 'namespace="team-a",name="api",issuer_kind="CredentialIssuer",issuer_name="adh"';

  it("exports one series per metric (three for the Ready status and the conditions), labelled with the issuer", async () => {
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    metrics.observe(team, ready);
    expect(await samples(registry)).toEqual(
      [
        `rotor_condition{${labels},type="Ready",status="True",reason="Issued"} 1`,
        `rotor_condition{${labels},type="Rotating",status="False",reason="UpToDate"} 1`,
        `rotor_condition{${labels},type="RolledOut",status="False",reason="RolloutTimeout"} 1`,
        `rotor_max_secrets{${labels}} 4`,
        `rotor_ready_status{${labels},condition="True"} 1`,
        `rotor_ready_status{${labels},condition="False"} 0`,
        `rotor_ready_status{${labels},condition="Unknown"} 0`,
        `rotor_rollover_pending_workloads{${labels}} 2`,
        `rotor_secret_expiration_timestamp_seconds{${labels}} ${Date.parse("2026-11-27T12:00:00Z") / 1000}`,
        `rotor_secret_renewal_timestamp_seconds{${labels}} ${Date.parse("2026-11-27T11:00:00Z") / 1000}`,
        `rotor_slots_used{${labels}} 3`,
        `rotor_superseded_secrets{${labels}} 2`,
      ].sort(),
    );
  });

  it("labels a ClientCredential without issuerRef as the embedded issuer's", async () => {
    const registry = new Registry();
    new CredentialMetrics(registry).observe({ namespace: "n", name: "c" }, ready);
    const lines = await samples(registry);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toContain('issuer_kind="Embedded",issuer_name="embedded"');
  });

  it("replaces a condition series when its reason changes, and drops what the status no longer holds", async () => {
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    metrics.observe(team, ready);
    metrics.observe(team, {
      secrets: [],
      conditions: [
        condition("Ready", "False", "IssuerError"),
        condition("Rotating", "True", "SlotsExhausted"),
        condition("RolledOut", "True", "RolledOut"),
      ],
    });
    expect(await samples(registry)).toEqual(
      [
        `rotor_condition{${labels},type="Ready",status="False",reason="IssuerError"} 1`,
        `rotor_condition{${labels},type="Rotating",status="True",reason="SlotsExhausted"} 1`,
        `rotor_condition{${labels},type="RolledOut",status="True",reason="RolledOut"} 1`,
        `rotor_ready_status{${labels},condition="True"} 0`,
        `rotor_ready_status{${labels},condition="False"} 1`,
        `rotor_ready_status{${labels},condition="Unknown"} 0`,
        `rotor_superseded_secrets{${labels}} 0`,
      ].sort(),
    );
  });

  it("forgets a deleted ClientCredential entirely and leaves the others", async () => {
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    metrics.observe(team, ready);
    metrics.observe({ namespace: "team-b", name: "web" }, ready);
    metrics.forget("team-a", "api");
    const lines = await samples(registry);
    expect(lines.filter((line) => line.includes('namespace="team-a"'))).toEqual([]);
    expect(lines.filter((line) => line.includes('namespace="team-b"'))).toHaveLength(12);
    metrics.forget("team-a", "api"); // twice is fine
  });

  it("clears every per-credential series when this replica stops leading; counters stay", async () => {
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    metrics.observe(team, ready);
    metrics.rotations.inc({ result: "success" });
    metrics.clear();
    expect(await samples(registry)).toEqual([]);
    expect(await registry.metrics()).toContain('rotor_rotations_total{result="success"} 1');
    metrics.observe(team, ready); // leading again
    expect(await samples(registry)).toHaveLength(12);
  });

  it("keeps at most 12 series per ClientCredential however often its status changes", async () => {
    const registry = new Registry();
    const metrics = new CredentialMetrics(registry);
    const reasons = ["Issued", "IssuerError", "KubernetesError", "SlotsExhausted", "VerificationPending"];
    for (let i = 0; i < 50; i++)
      metrics.observe(team, {
        ...ready,
        conditions: [condition("Ready", i % 2 ? "True" : "False", reasons[i % reasons.length] as string)],
      });
    expect((await samples(registry)).length).toBeLessThanOrEqual(12);
  });
});
