/**
 * What each state must raise, as `promtool test rules` groups: the scraped series held on, and
 * variations of them (a rotation, no leader, no Rotor, a failing controller) whose names and
 * labels are still the scraped ones. Expected alerts carry the expression's labels, the rule's
 * and the annotations rendered from them.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { OPERATOR_NAMESPACE } from "../../support/rotor.ts";
import { inputSeries, render, type Scrape, seriesString, stored } from "./prometheus.ts";

export const RULES = fileURLToPath(
  new URL("../../../charts/rotor/files/prometheus-rules.yaml", import.meta.url),
);
/** The labels a ServiceMonitor's scrape adds (honorLabels: Rotor's own `namespace` wins). */
export const TARGET = {
  job: "rotor-metrics",
  instance: "10.0.0.7:8080",
  namespace: OPERATOR_NAMESPACE,
  pod: "rotor-5d9c7-x2x8k",
  service: "rotor-metrics",
  endpoint: "metrics",
  container: "rotor",
};
export const STEP_S = 5;
export const SCRAPES = 6;

interface Rule {
  alert?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export const rules = (
  parse(readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((g) => g.rules);
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

/** A value of the last scrape. */
function sampleValue(scrape: Scrape, name: string, labels: Record<string, string>): number {
  const found = scrape.samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (!found) throw new Error(`no ${name} ${JSON.stringify(labels)} in the scrape`);
  return found.value;
}

export function promtoolTests(scrapes: Scrape[], context: { namespace: string; clusterIssuer: string }) {
  const ns = { name: context.namespace };
  const last = scrapes.at(-1) as Scrape;
  const one = (name: string, labels: Record<string, string>) => sampleValue(last, name, labels);
  // promtool's clock starts at the first scrape; timestamps are shifted to it.
  const epochSeconds = Math.floor((scrapes[0] as Scrape).at / 1000);
  const short = { namespace: ns.name, name: "short", issuer_kind: "Embedded", issuer_name: "embedded" };
  const expiry = one("rotor_secret_expiration_timestamp_seconds", short) - epochSeconds;
  const renewal = one("rotor_secret_renewal_timestamp_seconds", short) - epochSeconds;
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
  return { tests, scraped: scraped.length };
}
