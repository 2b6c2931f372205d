/**
 * The soak's figures: one markdown table (with a small time series of each replica's RSS and
 * open descriptors), the invariants that decide the exit code, and the JSON written by --json.
 */
import type { FaultResult } from "./faults.ts";
import type { MostSecrets, Orphan } from "./issuer.ts";
import { minutesOf, type SoakOptions, SPEC } from "./options.ts";
import type { Refusal } from "./prober.ts";
import type { Exit, ResourceSample } from "./replicas.ts";

export interface ReplicaResult {
  identity: string;
  restarts: number;
  kills: number;
  exits: Exit[];
  samples: ResourceSample[];
}

export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SoakResult {
  options: SoakOptions;
  revision: string;
  deployments: number;
  namespaces: number;
  seconds: number;
  rotations: number;
  /** Seconds from renewalTime to the target Secret holding the new secret. */
  renewalDelay: Distribution;
  late: number;
  /** Seconds from the target's switch to the superseded secret gone from the issuer. */
  revocationDelay: Distribution;
  expiredBeforeReplaced: string[];
  orphans: Orphan[];
  mostSecrets: MostSecrets;
  tokens: { requests: number; ok: number; refusedValid: number; cutByKill: number; refusals: Refusal[] };
  faults: FaultResult[];
  replicas: ReplicaResult[];
  readyAtEnd: number;
}

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

/** Each failed invariant, as a sentence; empty when the run holds. */
export function failures(r: SoakResult): string[] {
  const failed: string[] = [];
  if (r.expiredBeforeReplaced.length > 0)
    failed.push(`${r.expiredBeforeReplaced.length} secret(s) expired before being replaced`);
  if (r.orphans.length > 0) failed.push(`${r.orphans.length} orphaned secret(s) at the issuer`);
  if (r.mostSecrets.count > SPEC.maxSecrets)
    failed.push(`a client held ${r.mostSecrets.count} secrets, more than maxSecrets ${SPEC.maxSecrets}`);
  if (r.tokens.refusedValid > 0)
    failed.push(`${r.tokens.refusedValid} token request(s) refused for valid secrets`);
  if (r.rotations === 0) failed.push("no rotation happened");
  const kinds = new Set(
    r.faults
      .filter((f) => !f.detail.startsWith("no live") && !f.detail.startsWith("skipped"))
      .map((f) => f.kind),
  );
  const scheduled = new Set(r.faults.map((f) => f.kind));
  for (const kind of scheduled) if (!kinds.has(kind)) failed.push(`no ${kind} took place`);
  return failed;
}

const s = (seconds: number) => `${seconds.toFixed(1)} s`;
const spread = (d: Distribution) =>
  d.count === 0 ? "–" : `${s(d.p50)} / ${s(d.p90)} / ${s(d.p99)} / **${s(d.max)}** (${d.count})`;
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Mean of the first half of the samples → mean of the last half. */
function growth(samples: ResourceSample[], pick: (s: ResourceSample) => number, unit: string): string {
  if (samples.length < 4) return "–";
  const half = Math.floor(samples.length / 2);
  const [a, b] = [mean(samples.slice(0, half).map(pick)), mean(samples.slice(-half).map(pick))];
  return `${a.toFixed(0)} → ${b.toFixed(0)} ${unit} (${b >= a ? "+" : ""}${(((b - a) / a) * 100).toFixed(0)}%)`;
}

/** The longest-lived process of a replica: its samples. */
function longestLife(samples: ResourceSample[]): ResourceSample[] {
  const lives = new Map<number, ResourceSample[]>();
  for (const sample of samples) lives.set(sample.life, [...(lives.get(sample.life) ?? []), sample]);
  return [...lives.values()].sort((a, b) => b.length - a.length)[0] ?? [];
}

export function table(r: SoakResult): string {
  const o = r.options;
  const rows: Array<[string, string]> = [];
  const row = (figure: string, value: string) => rows.push([figure, value]);
  row(
    "run",
    `${minutesOf(r.seconds * 1000)}; ${o.credentials} ClientCredentials (validity ${SPEC.validity}, renewBefore ${SPEC.renewBefore}, gracePeriod ${SPEC.gracePeriod}, maxSecrets ${SPEC.maxSecrets}) in ${r.namespaces} namespaces, consumed by ${r.deployments} Deployments on kwok; two replicas, Rotor ${r.revision}`,
  );
  row("rotations done (new secret in the target Secret)", `**${r.rotations}**`);
  row(
    "renewal: renewalTime → new secret in the target, p50 / p90 / p99 / max (count)",
    spread(r.renewalDelay),
  );
  row("renewals late (> 5 s after renewalTime)", `${r.late} of ${r.rotations}`);
  row(
    "rollover: switch → superseded secret revoked at the issuer (restart, rollout, gracePeriod), p50 / p90 / p99 / max",
    spread(r.revocationDelay),
  );
  row("**secrets expired before being replaced** (must be 0)", `**${r.expiredBeforeReplaced.length}**`);
  row("**orphaned secrets at the issuer**, at the end (must be 0)", `**${r.orphans.length}**`);
  row(
    `**most secrets one client held** (must be ≤ maxSecrets ${SPEC.maxSecrets})`,
    `**${r.mostSecrets.count}**${r.mostSecrets.client ? ` (${r.mostSecrets.client} at ${minutesOf(r.mostSecrets.atMs)})` : ""}`,
  );
  const refusedOther = r.tokens.refusals.length - r.tokens.refusedValid;
  row(
    `token requests (1/s for ${o.probed} credentials, round robin over serving replicas): ok / **refused for valid secrets** (must be 0) / refused otherwise / cut by a kill in flight`,
    `${r.tokens.ok} of ${r.tokens.requests} / **${r.tokens.refusedValid}** / ${refusedOther} / ${r.tokens.cutByKill}`,
  );
  const kills = r.faults.filter((f) => f.kind === "leader-kill");
  const failovers = kills.flatMap((f) => (f.seconds === undefined ? [] : [f.seconds]));
  row(
    `leader SIGKILLs (every ${minutesOf(o.killEveryMs)}): count; kill → Lease renewed, each`,
    `${kills.length}; ${failovers.map(s).join(", ") || "–"}`,
  );
  const restarts = r.faults.filter((f) => f.kind === "api-restart");
  row(
    `API server restarts (every ${minutesOf(o.apiRestartEveryMs)}, down ${o.apiDownMs / 1000} s): count; away in all, each`,
    `${restarts.length}; ${restarts.map((f) => f.detail.replace("away ", "")).join(", ") || "–"}`,
  );
  for (const replica of r.replicas) {
    const own = replica.exits.filter((e) => e.what === "exited").length;
    const failed = replica.exits.length - own;
    row(
      `${replica.identity}: restarts (after the soak's kills ${replica.kills}) / exits on its own / failed starts`,
      `${replica.restarts} / ${own} / ${failed}`,
    );
    const life = longestLife(replica.samples);
    row(
      `${replica.identity}: RSS, first half → last half of the run; of its longest life (${life.length} samples)`,
      `${growth(replica.samples, (x) => x.rssMiB, "MiB")}; ${growth(life, (x) => x.rssMiB, "MiB")}`,
    );
    row(
      `${replica.identity}: open descriptors, the same`,
      `${growth(replica.samples, (x) => x.fds, "")}; ${growth(life, (x) => x.fds, "")}`,
    );
  }
  row("ClientCredentials Ready at the end", `${r.readyAtEnd} of ${o.credentials}`);
  const lines = ["| figure | measured |", "|---|---|", ...rows.map(([f, v]) => `| ${f} | ${v} |`)];
  return [lines.join("\n"), series(r.replicas), details(r)].filter(Boolean).join("\n\n");
}

/** RSS (MiB) / open descriptors of each replica, at most 13 rows; `*` marks a new process. */
function series(replicas: ReplicaResult[]): string {
  const times = [...new Set(replicas.flatMap((r) => r.samples.map((x) => Math.round(x.atMs / 30_000))))].sort(
    (a, b) => a - b,
  );
  if (times.length === 0) return "";
  const step = Math.max(1, Math.ceil(times.length / 12));
  const picked = times.filter((_, i) => i % step === 0 || i === times.length - 1);
  const cell = (r: ReplicaResult, slot: number) => {
    const i = r.samples.findIndex((x) => Math.round(x.atMs / 30_000) === slot);
    const x = r.samples[i];
    if (!x) return "–";
    const fresh = i > 0 && r.samples[i - 1]?.life !== x.life ? "*" : "";
    return `${x.rssMiB.toFixed(0)} / ${x.fds}${fresh}`;
  };
  return [
    `| minute | ${replicas.map((r) => `${r.identity} RSS MiB / fds`).join(" | ")} |`,
    `|---|${replicas.map(() => "---").join("|")}|`,
    ...picked.map(
      (slot) => `| ${(slot / 2).toFixed(1)} | ${replicas.map((r) => cell(r, slot)).join(" | ")} |`,
    ),
  ].join("\n");
}

function details(r: SoakResult): string {
  const out: string[] = [];
  const list = (title: string, items: string[]) => {
    if (items.length > 0)
      out.push(
        `${title}:\n${items
          .slice(0, 10)
          .map((i) => `- ${i}`)
          .join("\n")}`,
      );
  };
  list("Secrets expired before being replaced", r.expiredBeforeReplaced);
  list(
    "Orphans",
    r.orphans.map(
      (o) => `${o.credential} (client ${o.clientId}) secret ${o.secretId}; its status: ${o.status}`,
    ),
  );
  list(
    "Refused token requests",
    r.tokens.refusals.map(
      (x) =>
        `${minutesOf(x.atMs)} ${x.replica} ${x.credential}: ${x.outcome} (valid at the issuer: ${x.valid})`,
    ),
  );
  for (const replica of r.replicas)
    for (const exit of replica.exits)
      out.push(
        `${replica.identity} ${exit.what} at ${minutesOf(exit.atMs)}; its last lines:\n\`\`\`\n${exit.lastLines.join("\n")}\n\`\`\``,
      );
  return out.join("\n\n");
}
