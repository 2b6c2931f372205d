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
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { eventually, kubectlOk, testNamespace } from "../../support/cluster.ts";
import { deleteClientCredential } from "../../support/credentials.ts";
import { deleteIssuer } from "../../support/issuers.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { tool } from "../../support/tools.ts";
import { promtoolTests, RULES, rules, SCRAPES, STEP_S, TARGET } from "./alert-cases.ts";
import { produceStates } from "./alerts-states.ts";
import {
  CHART,
  find,
  type KubeObject,
  parseObjects,
  readObjects,
  run,
  serverDryRun,
  serverVersion,
} from "./installs.ts";
import { dashboardQueries, installMonitoringCrds, missingFrom } from "./monitoring.ts";
import { parseExposition, type Scrape } from "./prometheus.ts";

const path = (relative: string) => fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
const DASHBOARD = path("charts/rotor/files/grafana-dashboard.json");

/** The ServiceMonitor selects the Service by its labels, scrapes its `metrics` port, honours Rotor's labels. */
function expectSelects(monitor: KubeObject, service: KubeObject) {
  const spec = monitor.spec as {
    selector: { matchLabels: Record<string, string> };
    endpoints: Array<{ port: string; honorLabels: boolean }>;
  };
  expect(service.metadata.labels).toMatchObject(spec.selector.matchLabels);
  const ports = (service.spec as { ports: Array<{ name: string }> }).ports.map((p) => p.name);
  expect(spec.endpoints.map((e) => [e.port, e.honorLabels])).toEqual([["metrics", true]]);
  expect(ports).toContain("metrics");
}

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

async function scrape(): Promise<Scrape & { text: string }> {
  const text = await (await fetch(`${rotor.metricsUrl}/metrics`)).text();
  return { ...parseExposition(text), text };
}

describe("the alert rules against a running Rotor", () => {
  it("raise each alert from the series Rotor exports in that state, and no other", {
    timeout: 300_000,
  }, async () => {
    await produceStates(ns.name, clusterIssuer);
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

    const controllers = last.samples
      .filter((s) => s.name === "rotor_reconcile_total")
      .map((s) => s.labels.controller);
    expect(new Set(controllers)).toEqual(new Set(["clientcredential", "issuer"]));

    const { tests, scraped } = promtoolTests(scrapes, { namespace: ns.name, clusterIssuer });
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
      `alerts: ${scraped} series scraped from Rotor, ${tests.reduce((n, t) => n + t.alert_rule_test.length, 0)} alert checks passed (promtool test rules ${file})`,
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

describe("the Grafana dashboard", () => {
  // After the test above: Rotor has served tokens and called an OCS issuer, so every family has samples.
  it("queries only metrics and labels Rotor exports, in PromQL that promtool parses", async () => {
    const queries = dashboardQueries(JSON.parse(readFileSync(DASHBOARD, "utf8")));
    expect(queries.length).toBeGreaterThan(20);
    const current = await scrape();
    const missing = queries.flatMap((q) =>
      missingFrom(current, q, Object.keys(TARGET)).map((what) => `${q.where}: ${what}`),
    );
    expect(missing).toEqual([]);
    const file = join(mkdtempSync(join(tmpdir(), "rotor-dashboard-")), "queries.rules.json");
    const records = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.promql }));
    writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules: records }] }));
    const check = spawnSync(tool("promtool"), ["check", "rules", file], { encoding: "utf8" });
    expect(`${check.stdout}${check.stderr}`).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});

describe("deploy/monitoring", () => {
  it("is what charts/rotor/files generate, and the API server accepts it with the Prometheus Operator's CRDs", {
    timeout: 120_000,
  }, async () => {
    const generate = spawnSync(process.execPath, [path("hack/generate-monitoring.ts"), "--check"], {
      encoding: "utf8",
    });
    expect(generate.stderr).toBe("");
    expect(generate.status).toBe(0);

    const objects = parseAllDocuments(kubectlOk(["kustomize", path("deploy/monitoring")])).map(
      (d) => d.toJSON() as { kind: string; spec?: unknown; data?: Record<string, string> },
    );
    expect(objects.map((o) => o.kind).sort()).toEqual(["ConfigMap", "PrometheusRule", "ServiceMonitor"]);
    const rule = objects.find((o) => o.kind === "PrometheusRule");
    expect(rule?.spec).toEqual(parse(readFileSync(RULES, "utf8")));
    const dashboard = objects.find((o) => o.kind === "ConfigMap")?.data?.["rotor.json"] as string;
    expect(JSON.parse(dashboard)).toEqual(JSON.parse(readFileSync(DASHBOARD, "utf8")));

    // The ServiceMonitor finds the kustomize base's metrics Service.
    const monitor = find(objects as KubeObject[], "ServiceMonitor", "rotor");
    expectSelects(monitor, find(readObjects("deploy", "operator.yaml"), "Service", "rotor-metrics"));

    installMonitoringCrds();
    const accepted = kubectlOk([
      "apply",
      "--server-side",
      "--dry-run=server",
      "-k",
      path("deploy/monitoring"),
    ]);
    expect(accepted).toContain(
      "servicemonitor.monitoring.coreos.com/rotor serverside-applied (server dry run)",
    );
    expect(accepted).toContain(
      "prometheusrule.monitoring.coreos.com/rotor serverside-applied (server dry run)",
    );
  });
});

describe("the chart's monitoring templates", () => {
  const template = (...set: string[]) =>
    parseObjects(
      run(tool("helm"), [
        "template",
        "rotor",
        CHART,
        "-n",
        "rotor-system",
        `--kube-version=${serverVersion()}`,
        ...set.flatMap((s) => ["--set", s]),
      ]),
    );

  it("render nothing by default; with metrics.* on, the objects deploy/monitoring holds, and the API server accepts them", {
    timeout: 600_000,
  }, () => {
    const monitoringKinds = (objects: KubeObject[]) =>
      objects.filter(
        (o) =>
          ["ServiceMonitor", "PrometheusRule"].includes(o.kind) || o.metadata.name.endsWith("-dashboard"),
      );
    expect(monitoringKinds(template())).toEqual([]);

    const objects = template(
      "metrics.serviceMonitor.enabled=true",
      "metrics.serviceMonitor.labels.release=prometheus",
      "metrics.prometheusRule.enabled=true",
      "metrics.prometheusRule.labels.release=prometheus",
      "metrics.dashboard.enabled=true",
    );
    const monitor = find(objects, "ServiceMonitor", "rotor");
    expectSelects(monitor, find(objects, "Service", "rotor-metrics"));
    expect(monitor.metadata.labels).toMatchObject({
      release: "prometheus",
      "app.kubernetes.io/part-of": "rotor",
    });
    const rule = find(objects, "PrometheusRule", "rotor");
    expect(rule.metadata.labels?.release).toBe("prometheus");
    // Inserted as text: the alerts' {{ $labels.… }} reach Prometheus as written.
    expect(rule.spec).toEqual(parse(readFileSync(RULES, "utf8")));
    const dashboard = find(objects, "ConfigMap", "rotor-dashboard");
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe("1");
    const json = (dashboard.data as Record<string, string>)["rotor.json"] as string;
    expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(DASHBOARD, "utf8")));

    const rules = join(mkdtempSync(join(tmpdir(), "rotor-chart-rules-")), "rules.json");
    writeFileSync(rules, JSON.stringify(rule.spec));
    const check = spawnSync(tool("promtool"), ["check", "rules", rules], { encoding: "utf8" });
    expect(check.stdout).toContain("SUCCESS");

    installMonitoringCrds();
    const accepted = serverDryRun(
      monitoringKinds(objects)
        .map((o) => JSON.stringify(o))
        .join("\n---\n"),
    );
    expect(accepted).toContain(
      "servicemonitor.monitoring.coreos.com/rotor serverside-applied (server dry run)",
    );
    expect(accepted).toContain(
      "prometheusrule.monitoring.coreos.com/rotor serverside-applied (server dry run)",
    );
    expect(accepted).toContain("configmap/rotor-dashboard serverside-applied (server dry run)");

    expect(() => template("metrics.serviceMonitor.enabled=true", "metrics.service.enabled=false")).toThrow(
      /metrics.serviceMonitor.enabled needs metrics.service.enabled/,
    );
  });
});
