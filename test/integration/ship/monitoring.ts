/**
 * Helpers for the monitoring kit's shipping checks: the Grafana dashboard's queries and what
 * they name, and the Prometheus Operator's CRDs for a server-side dry run, taken from the
 * prometheus-operator Go module (a module zip holds the repository's files, CRDs included).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectlOk } from "../../support/cluster.ts";
import { type Scrape, typeOf } from "./prometheus.ts";

/** The version whose CRDs the dry run uses (monitoring.coreos.com/v1 is stable across them). */
export const PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0";

/** The ServiceMonitor and PrometheusRule CRD files, from the Go module cache (downloaded once). */
export function monitoringCrds(): string[] {
  const info = JSON.parse(
    execFileSync("go", ["mod", "download", "-json", PROMETHEUS_OPERATOR], {
      cwd: mkdtempSync(join(tmpdir(), "rotor-gomod-")),
      encoding: "utf8",
      env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" },
    }),
  ) as { Dir: string };
  const dir = join(info.Dir, "example", "prometheus-operator-crd");
  return ["servicemonitors", "prometheusrules"].map((kind) =>
    join(dir, `monitoring.coreos.com_${kind}.yaml`),
  );
}

/** Installs the ServiceMonitor and PrometheusRule CRDs in the test cluster (idempotent). */
export function installMonitoringCrds(): void {
  for (const crd of monitoringCrds())
    kubectlOk(["apply", "--server-side", "--field-manager=rotor-test", "-f", crd]);
  kubectlOk([
    "wait",
    "--for=condition=Established",
    "crd/servicemonitors.monitoring.coreos.com",
    "crd/prometheusrules.monitoring.coreos.com",
  ]);
}

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string; legendFormat?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

export interface Query {
  where: string;
  /** PromQL with the dashboard's variables given values. */
  promql: string;
  /** Labels the query or its legend names. */
  labels: string[];
}

const concrete = (expr: string) =>
  expr.replaceAll("$__rate_interval", "5m").replace(/\$(namespace|issuer)\b/g, ".*");

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"]);

/** The label names an expression uses: in by/without/on/ignoring lists and in matchers. */
function labelsOf(promql: string, legend = ""): string[] {
  const names = new Set<string>();
  for (const list of promql.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g))
    for (const name of (list[1] as string).split(",").map((n) => n.trim())) if (name) names.add(name);
  for (const matchers of promql.matchAll(/\{([^}]*)\}/g))
    for (const m of (matchers[1] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g))
      names.add(m[1] as string);
  for (const m of legend.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) names.add(m[1] as string);
  return [...names].filter((n) => !KEYWORDS.has(n));
}

/** Every query of the dashboard: panel targets and the template variables' label_values(). */
export function dashboardQueries(dashboard: Dashboard): Query[] {
  const queries: Query[] = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? [])
        if (target.expr) {
          const promql = concrete(target.expr);
          queries.push({
            where: `panel "${panel.title}"`,
            promql,
            labels: labelsOf(promql, target.legendFormat),
          });
        }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    const text = typeof variable.query === "string" ? variable.query : variable.query?.query;
    const match = text && /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(text);
    if (!match) continue;
    const promql = concrete(match[1] as string);
    queries.push({
      where: `variable $${variable.name}`,
      promql,
      labels: [...labelsOf(promql), match[2] as string],
    });
  }
  return queries;
}

/** The metric names a query reads (Rotor's and the process metrics every replica serves). */
export const metricsOf = (promql: string) => [
  ...new Set([...promql.matchAll(/\b((?:rotor|process)_[a-z_]+)\b/g)].map((m) => m[1] as string)),
];

/**
 * What a query names that the scrape does not have: a metric no family declares, or a label no
 * sample of its metrics (nor the scrape target) carries.
 */
export function missingFrom(scrape: Scrape, query: Query, targetLabels: string[]): string[] {
  const metrics = metricsOf(query.promql);
  const missing = metrics.filter((name) => typeOf(scrape, name) === undefined).map((n) => `metric ${n}`);
  const known = new Set([...targetLabels, "le"]);
  for (const sample of scrape.samples)
    if (metrics.some((m) => sample.name === m || sample.name.startsWith(`${m}_`)))
      for (const label of Object.keys(sample.labels)) known.add(label);
  return [...missing, ...query.labels.filter((l) => !known.has(l)).map((l) => `label ${l}`)];
}
