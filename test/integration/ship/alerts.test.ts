/**
 * The alert rules (charts/rotor/files/prometheus-rules.yaml) against what Rotor really exports.
 * Rotor runs as its own process with ClientCredentials in the states the alerts are about (Ready,
 * SlotsExhausted, RolloutTimeout, IssuerError at an unreachable issuer, a secret an hour from
 * expiry); its /metrics is scraped every 5 s, and the samples — exact names, labels and values,
 * as Prometheus stores them with honor_labels — become `promtool test rules` input series, held
 * on after the last scrape. promtool then evaluates every rule and compares the firing alerts,
 * labels and rendered annotations with what each state must raise, and what it must not. A
 * renamed metric or label leaves an alert unraised or differently labelled, and fails here.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AppsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { mergePatch } from "../../../src/runtime/kube.ts";
import { TENANT_MEMBER_ROLE_ID } from "../../simulator/ocs/store.ts";
import { eventually, kubeConfig, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  deleteClientCredential,
  getClientCredential,
  waitForReady,
  waitForReason,
} from "../../support/credentials.ts";
import { createIssuer, deleteIssuer, putSecret, waitForIssuer } from "../../support/issuers.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../../support/rotor.ts";
import { tool } from "../../support/tools.ts";
import { createDeployment, podSpec, readyPods } from "../../support/workloads.ts";
import { inputSeries, parseExposition, render, type Scrape, seriesString, stored } from "./prometheus.ts";

const RULES = fileURLToPath(new URL("../../../charts/rotor/files/prometheus-rules.yaml", import.meta.url));
/** The labels a ServiceMonitor's scrape adds (honorLabels: Rotor's own `namespace` wins). */
const TARGET = {
  job: "rotor-metrics",
  instance: "10.0.0.7:8080",
  namespace: OPERATOR_NAMESPACE,
  pod: "rotor-5d9c7-x2x8k",
  service: "rotor-metrics",
  endpoint: "metrics",
  container: "rotor",
};
const STEP_S = 5;
const SCRAPES = 6;

interface Rule {
  alert?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parse(readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);
const ALERTS = rules.flatMap((r) => (r.alert ? [r.alert] : []));

/** An alert promtool must see firing: the expression's labels, the rule's, the rendered annotations. */
function firing(name: string, labels: Record<string, string>, value?: number) {
  const rule = rules.find((r) => r.alert === name);
  if (!rule) throw new Error(`no alert ${name} in the rules`);
  const annotations = Object.entries(rule.annotations ?? {}).map(([k, t]) => [k, render(t, labels, value)]);
  return { exp_labels: { ...labels, ...rule.labels }, exp_annotations: Object.fromEntries(annotations) };
}

type Expected = Record<string, ReturnType<typeof firing>[]>;
/** One check per alert at `seconds`: exactly these fire (every alert not named: none). */
const at = (seconds: number, expected: Expected, only?: string[]) =>
  (only ?? ALERTS).map((alertname) => ({
    eval_time: `${seconds}s`,
    alertname,
    exp_alerts: expected[alertname] ?? [],
  }));

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const clusterIssuer = `alerts-${process.pid}`;

beforeAll(async () => {
  ns = await testNamespace("alerts");
  rotor = await startRotor([
    "--issuer-check-interval=5s",
    "--restart-window=3s",
    "--consumer-resync=3s",
    "--finalizer-timeout=10s",
  ]);
});
afterAll(async () => {
  await ns?.remove();
  await deleteIssuer({ name: clusterIssuer });
  await rotor?.stop();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function scrape(): Promise<Scrape & { text: string }> {
  const text = await (await fetch(`${rotor.metricsUrl}/metrics`)).text();
  return { ...parseExposition(text), text };
}

const waitForRotating = (name: string, reason: string) =>
  eventually(`${name} Rotating ${reason}`, async () => {
    const cc = await getClientCredential(ns.name, name);
    return condition(cc, "Rotating")?.reason === reason ? cc : undefined;
  });

/** Each state the alerts are about, reached for real. */
async function produceStates() {
  await putSecret(ns.name, "offline-admin", { client_id: randomUUID(), client_secret: "never-sent" });
  await createIssuer(
    { namespace: ns.name, name: "offline" },
    {
      ocs: {
        url: `http://127.0.0.1:${await freePort()}`,
        tenantId: randomUUID(),
        auth: { clientCredentials: { secretRef: { name: "offline-admin" } } },
      },
    },
  );
  await createIssuer({ namespace: ns.name, name: "builtin" }, { embedded: {} });
  await createIssuer({ name: clusterIssuer }, { embedded: {} });
  const credentials: Array<[string, Record<string, unknown>]> = [
    ["healthy", {}],
    ["short", { validity: "1h", renewBefore: "20m" }],
    ["via-builtin", { issuerRef: { kind: "CredentialIssuer", name: "builtin" } }],
    ["via-cluster", { issuerRef: { kind: "ClusterCredentialIssuer", name: clusterIssuer } }],
    [
      "via-offline",
      { issuerRef: { kind: "CredentialIssuer", name: "offline" }, roleIds: [TENANT_MEMBER_ROLE_ID] },
    ],
    ["full", { maxSecrets: 2, rollout: { strategy: "Observe" }, gracePeriod: "1h" }],
    ["stuck", { rollout: { timeout: "1m" }, gracePeriod: "0s" }],
  ];
  for (const [name, spec] of credentials) await createClientCredential(ns.name, name, spec);

  // RolloutTimeout: a paused Deployment never rolls over to the new secret (1m at the least).
  await waitForReady(ns.name, "stuck");
  await new Promise((resolve) => setTimeout(resolve, 1100)); // pods start after the switch's second
  await createDeployment(ns.name, "frozen", podSpec(["stuck"], "env"), 2);
  await readyPods(ns.name, "frozen", 2);
  await kubeConfig()
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeployment(
      { namespace: ns.name, name: "frozen", body: { spec: { paused: true } } },
      mergePatch,
    );
  await annotate(ns.name, "stuck", { "rotor.dev/rotate": "1" });

  // SlotsExhausted: two slots, the superseded secret kept for its grace period, a third asked for.
  await waitForReady(ns.name, "full");
  await annotate(ns.name, "full", { "rotor.dev/rotate": "1" });
  await eventually("full rotated", async () => {
    const cc = await getClientCredential(ns.name, "full");
    return cc?.status?.secrets?.some((s) => s.state === "Superseded") ? cc : undefined;
  });
  await annotate(ns.name, "full", { "rotor.dev/rotate": "2" });
  await waitForRotating("full", "SlotsExhausted");

  for (const name of ["healthy", "short", "via-builtin", "via-cluster"]) await waitForReady(ns.name, name);
  await waitForIssuer({ namespace: ns.name, name: "offline" }, "False", "Unreachable");
  await waitForReason(ns.name, "via-offline", "IssuerError");
  await eventually(
    "stuck RolloutTimeout",
    async () => {
      const cc = await getClientCredential(ns.name, "stuck");
      return condition(cc, "RolledOut")?.reason === "RolloutTimeout" ? cc : undefined;
    },
    120_000,
    1000,
  );
}

describe("the alert rules against a running Rotor", () => {
  it("raise each alert from the series Rotor exports in that state, and no other", {
    timeout: 300_000,
  }, async () => {
    await produceStates();
    const promtool = tool("promtool");
    const started = Date.now();
    const scrapes: Array<Awaited<ReturnType<typeof scrape>>> = [];
    for (let i = 0; i < SCRAPES; i++) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, started + i * STEP_S * 1000 - Date.now())),
      );
      scrapes.push(await scrape());
    }
    const last = scrapes.at(-1) as (typeof scrapes)[number];
    const one = (name: string, labels: Record<string, string>) =>
      last.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;

    // What the status says, the series say (a pure function of it), with the issuer's labels.
    const full = { namespace: ns.name, name: "full" };
    expect(one("rotor_slots_used", full)).toBe(2);
    expect(one("rotor_max_secrets", full)).toBe(2);
    expect(one("rotor_superseded_secrets", full)).toBe(1);
    expect(one("rotor_rollover_pending_workloads", { namespace: ns.name, name: "stuck" })).toBe(1);
    expect(one("rotor_superseded_secrets", { namespace: ns.name, name: "stuck" })).toBe(1);
    expect(
      one("rotor_condition", {
        namespace: ns.name,
        name: "via-offline",
        type: "Ready",
        reason: "IssuerError",
      }),
    ).toBe(1);
    const via = (name: string) =>
      last.samples.find((s) => s.name === "rotor_ready_status" && s.labels.name === name);
    expect(via("via-cluster")?.labels).toMatchObject({
      issuer_kind: "ClusterCredentialIssuer",
      issuer_name: clusterIssuer,
    });
    expect(via("via-builtin")?.labels).toMatchObject({
      issuer_kind: "CredentialIssuer",
      issuer_name: "builtin",
    });
    expect(via("healthy")?.labels).toMatchObject({ issuer_kind: "Embedded", issuer_name: "embedded" });
    expect(one("rotor_issuer_ready", { kind: "CredentialIssuer", namespace: ns.name, name: "offline" })).toBe(
      0,
    );
    expect(one("rotor_issuer_ready", { kind: "ClusterCredentialIssuer", name: clusterIssuer })).toBe(1);

    // promtool's lint of Rotor's own families (prom-client's default process metrics are not Rotor's).
    const own = last.text
      .split("\n")
      .filter((line) => /^(# (HELP|TYPE) )?rotor_/.test(line))
      .join("\n");
    const lint = spawnSync(promtool, ["check", "metrics"], { input: `${own}\n`, encoding: "utf8" });
    expect(`${lint.stdout}${lint.stderr}`).toBe("");
    expect(lint.status).toBe(0);

    // promtool's clock starts at the first scrape; timestamps are shifted to it.
    const epochSeconds = Math.floor((scrapes[0] as Scrape).at / 1000);
    const short = { namespace: ns.name, name: "short", issuer_kind: "Embedded", issuer_name: "embedded" };
    const expiry = (one("rotor_secret_expiration_timestamp_seconds", short) as number) - epochSeconds;
    const renewal = (one("rotor_secret_renewal_timestamp_seconds", short) as number) - epochSeconds;
    const tick = (s: number) => Math.ceil(s / 15) * 15; // the rules are evaluated every 15 s
    const windowOpens = expiry - (expiry - renewal) / 2; // renewBefore/2 before expiry
    const [before, fires, expired] = [tick(windowOpens - 60), tick(windowOpens + 60 + 30), tick(expiry + 15)];
    const holdSteps = Math.ceil((expired + 120) / STEP_S);

    const credential = (name: string, issuer_kind = "Embedded", issuer_name = "embedded") => ({
      namespace: ns.name,
      name,
      issuer_kind,
      issuer_name,
    });
    // The clientcredential controller's error ratio depends on backoff timing: the synthetic
    // group below covers it; the issuer controller's (an unreachable issuer every 5 s) is steady.
    const scraped = inputSeries(scrapes, {
      target: TARGET,
      epochSeconds,
      holdSteps,
      include: (s) =>
        s.name.startsWith("rotor_") &&
        !(s.name === "rotor_reconcile_total" && s.labels.controller !== "issuer"),
    });
    const labelled = (name: string, labels: Record<string, string>) =>
      seriesString(name, stored(labels, TARGET));
    const timestamps = (shift: number, steps: number) => [
      {
        series: labelled("rotor_secret_expiration_timestamp_seconds", short),
        values: `${expiry}x${steps} ${expiry + shift}x${holdSteps - steps}`,
      },
      {
        series: labelled("rotor_secret_renewal_timestamp_seconds", short),
        values: `${renewal}x${steps} ${renewal + shift}x${holdSteps - steps}`,
      },
    ];
    const reconciles = last.samples.filter((s) => s.name === "rotor_reconcile_total");
    expect(new Set(reconciles.map((s) => s.labels.controller))).toEqual(
      new Set(["clientcredential", "issuer"]),
    );
    const pace = (labels: Record<string, string>) =>
      labels.controller === "clientcredential"
        ? ({ success: 2, error: 1 }[labels.result as string] ?? 0)
        : labels.result === "success"
          ? 1
          : 0;

    const tests = [
      {
        name: "the states as scraped, held",
        interval: `${STEP_S}s`,
        input_series: scraped,
        alert_rule_test: [
          ...at(1200, {
            RotorSlotsExhausted: [firing("RotorSlotsExhausted", credential("full"))],
            RotorRolloutTimeout: [firing("RotorRolloutTimeout", credential("stuck"))],
            RotorCredentialNotReady: [
              firing("RotorCredentialNotReady", {
                ...credential("via-offline", "CredentialIssuer", "offline"),
                reason: "IssuerError",
              }),
            ],
            RotorIssuerNotReady: [
              firing("RotorIssuerNotReady", {
                kind: "CredentialIssuer",
                namespace: ns.name,
                name: "offline",
              }),
            ],
            RotorIssuerRequestErrors: [
              firing("RotorIssuerRequestErrors", { issuer: `CredentialIssuer/${ns.name}/offline` }),
            ],
            RotorReconcileErrors: [firing("RotorReconcileErrors", { controller: "issuer" })],
          }),
          ...at(before, {}, ["RotorSecretNotRenewed", "RotorSecretExpired"]),
          ...at(
            fires,
            { RotorSecretNotRenewed: [firing("RotorSecretNotRenewed", credential("short"), expiry - fires)] },
            ["RotorSecretNotRenewed", "RotorSecretExpired"],
          ),
          ...at(expired, { RotorSecretExpired: [firing("RotorSecretExpired", credential("short"))] }, [
            "RotorSecretNotRenewed",
            "RotorSecretExpired",
          ]),
        ],
      },
      {
        name: "a rotation before the window moves both timestamps a validity ahead: nothing fires",
        interval: `${STEP_S}s`,
        input_series: timestamps(3600, Math.floor((windowOpens - 300) / STEP_S)),
        alert_rule_test: [
          ...at(fires, {}, ["RotorSecretNotRenewed", "RotorSecretExpired"]),
          ...at(expired, {}, ["RotorSecretNotRenewed", "RotorSecretExpired"]),
        ],
      },
      {
        name: "no replica leads",
        interval: `${STEP_S}s`,
        input_series: [{ series: labelled("rotor_leader", {}), values: "0x200" }],
        alert_rule_test: [
          ...at(240, {}, ["RotorNoLeader"]),
          ...at(
            360,
            { RotorNoLeader: [firing("RotorNoLeader", { namespace: OPERATOR_NAMESPACE, job: TARGET.job })] },
            ["RotorNoLeader", "RotorAbsent"],
          ),
        ],
      },
      {
        name: "no Rotor is scraped",
        interval: `${STEP_S}s`,
        input_series: [{ series: labelled("up", {}), values: "0x200" }],
        alert_rule_test: [
          ...at(540, {}, ["RotorAbsent"]),
          ...at(660, { RotorAbsent: [firing("RotorAbsent", {})] }, ["RotorAbsent", "RotorNoLeader"]),
        ],
      },
      {
        name: "a third of the clientcredential controller's reconciles fail; the issuer controller's none",
        interval: "1m",
        input_series: reconciles.map((s) => ({
          series: labelled(s.name, s.labels),
          values: `0+${pace(s.labels)}x40`,
        })),
        alert_rule_test: at(
          1200,
          { RotorReconcileErrors: [firing("RotorReconcileErrors", { controller: "clientcredential" })] },
          ["RotorReconcileErrors"],
        ),
      },
    ];
    const dir = mkdtempSync(join(tmpdir(), "rotor-alerts-"));
    const file = join(dir, "alerts.test.json");
    writeFileSync(file, JSON.stringify({ rule_files: [RULES], evaluation_interval: "15s", tests }, null, 1));

    const check = spawnSync(promtool, ["check", "rules", RULES], { encoding: "utf8" });
    expect(check.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(check.status).toBe(0);
    const run = spawnSync(promtool, ["test", "rules", file], { encoding: "utf8", maxBuffer: 64 << 20 });
    expect(`${run.stdout}${run.stderr}`, `promtool test rules ${file}`).toContain("SUCCESS");
    expect(run.status).toBe(0);
    console.log(
      `alerts: ${scraped.length} series scraped from Rotor, ${tests.reduce((n, t) => n + t.alert_rule_test.length, 0)} alert checks passed (promtool test rules ${file})`,
    );

    // A deleted ClientCredential takes its series with it.
    await deleteClientCredential(ns.name, "healthy");
    await eventually("the deleted ClientCredential's series gone", async () => {
      const { samples } = await scrape();
      return samples.some((s) => s.labels.namespace === ns.name && s.labels.name === "healthy")
        ? undefined
        : true;
    });
  });
});
