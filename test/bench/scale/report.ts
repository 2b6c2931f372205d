/** The bench's table: one markdown table, ready to paste into the README. */
import type { IdleSpan } from "./idle.ts";
import type { Load } from "./load.ts";
import type { Memory } from "./rotor.ts";
import type { ShardsResult } from "./shards.ts";
import type { StormResult } from "./storm.ts";

export interface Results {
  count: number;
  concurrency: number;
  floor?: { seconds: number; load: Load };
  rotor?: {
    seconds: number;
    load: Load;
    /** Rotor's own count of its requests while creating. */
    requests: Map<string, number>;
    cpuSeconds: number;
    memory: [Memory, Memory, Memory];
  };
  idle?: { whole: IdleSpan; first30s: IdleSpan | undefined; after30s: IdleSpan | undefined };
  /** Rotor's memory once the idle phase is over (what it keeps, without the creation's garbage). */
  afterIdle?: Memory;
  storm?: StormResult & { requests: Map<string, number>; cpuSeconds: number; load: Load };
  shards?: ShardsResult & { count?: number };
}

const seconds = (s: number) => `${s.toFixed(1)} s`;
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
const perSecond = (n: number, s: number) => (s > 0 ? (n / s).toFixed(2) : "–");

/** `16.5 (GET 7.4, POST 5.0, …)`: requests per credential, largest first. */
export function perCredential(requests: Map<string, number>, count: number): string {
  const all = [...requests.values()].reduce((a, b) => a + b, 0);
  const parts = [...requests]
    .filter(([, n]) => n / count >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${(n / count).toFixed(1)}`);
  return `**${(all / count).toFixed(1)}** (${parts.join(", ")})`;
}

export function table(r: Results): string {
  const n = r.count;
  const rows: string[][] = [];
  const row = (figure: string, value: string) => rows.push([figure, value]);
  if (r.floor)
    row(
      `floor: ${n} credentials, 6 writes each (create, finalizer, registry Secret, version Secret, target Secret, status), one reused connection pool, concurrency ${r.concurrency}`,
      `${seconds(r.floor.seconds)} (${perSecond(n, r.floor.seconds)} credentials/s)`,
    );
  if (r.rotor) {
    row(
      `Rotor: ${n} ClientCredentials created at concurrency ${r.concurrency}, until all are Ready`,
      `${seconds(r.rotor.seconds)} (${perSecond(n, r.rotor.seconds)} credentials/s)`,
    );
    if (r.floor) row("ratio Rotor / floor", `**${(r.rotor.seconds / r.floor.seconds).toFixed(2)}×**`);
    row(
      "API requests per credential while creating, Rotor's `rotor_kube_api_requests_total`",
      perCredential(r.rotor.requests, n),
    );
    row(
      "the same, the API server's `apiserver_request_total` (bench's own requests, watches and background subtracted; includes the control plane's reactions, e.g. the garbage collector's)",
      perCredential(r.rotor.load.requests, n),
    );
  }
  if (r.floor)
    row(
      "floor's requests per credential as the API server counted them, its own and the controllers' reactions (a check of the counting)",
      perCredential(r.floor.load.served, n),
    );
  if (r.rotor) {
    row(
      "Rotor CPU per credential created",
      `**${ms(r.rotor.cpuSeconds / n)}** (${seconds(r.rotor.cpuSeconds)} in all)`,
    );
    const [m0, mHalf, mAll] = r.rotor.memory;
    row(
      `Rotor RSS at 0 / ${Math.floor(n / 2)} / ${n} Ready`,
      `${mib(m0.rss)} / ${mib(mHalf.rss)} / **${mib(mAll.rss)} MiB** (+${((mAll.rss - m0.rss) / n / 1024).toFixed(1)} KiB per credential)`,
    );
    row(
      `Rotor V8 heap used after a forced GC at 0 / ${Math.floor(n / 2)} / ${n} Ready`,
      `${mib(m0.heapUsed)} / ${mib(mHalf.heapUsed)} / ${mib(mAll.heapUsed)} MiB (+${((mAll.heapUsed - m0.heapUsed) / n / 1024).toFixed(1)} KiB per credential)`,
    );
  }
  const apiserverCpu = (load: Load) =>
    `${ms(load.apiserverCpu / n)} per credential (${((load.apiserverCpu / load.seconds) * 100).toFixed(0)}% of a core)`;
  if (r.floor || r.rotor)
    row(
      "kube-apiserver CPU while creating: floor / Rotor",
      [r.floor, r.rotor].map((phase) => (phase ? apiserverCpu(phase.load) : "–")).join(" / "),
    );
  if (r.idle) {
    const idle = (span: IdleSpan) => {
      const lease =
        span.leaseRequests !== undefined
          ? `Leases ${perSecond(span.leaseRequests, span.seconds)}/s`
          : `${span.leaseUpdates} Lease updates`;
      return `${perSecond(span.requests, span.seconds)} requests/s (${lease}), ${span.writesBesidesLease} objects written besides the Lease, ${span.reconciles} reconciles, CPU ${((span.cpuSeconds / span.seconds) * 100).toFixed(1)}% of a core`;
    };
    row(`idle, ${r.idle.whole.seconds.toFixed(0)} s after all are Ready`, idle(r.idle.whole));
    if (r.idle.first30s) row("… of which the first 30 s", idle(r.idle.first30s));
    if (r.idle.after30s) row("… and the rest", idle(r.idle.after30s));
    if (r.afterIdle && r.rotor) {
      const [m0] = r.rotor.memory;
      row(
        `Rotor RSS / V8 heap used after the idle phase (${n} Ready)`,
        `**${mib(r.afterIdle.rss)}** / ${mib(r.afterIdle.heapUsed)} MiB (+${((r.afterIdle.rss - m0.rss) / n / 1024).toFixed(1)} / +${((r.afterIdle.heapUsed - m0.heapUsed) / n / 1024).toFixed(1)} KiB per credential)`,
      );
    }
  }
  if (r.storm) {
    const s = r.storm;
    row(
      `rotation storm: \`rotor.dev/rotate\` on all ${n} in one burst (written in ${seconds(s.burstSeconds)}); from each annotation written to status.currentSecretId showing the new secret, p50 / p99 / max`,
      `${seconds(s.p50)} / **${seconds(s.p99)}** / ${seconds(s.max)}; all switched after ${seconds(s.seconds)}`,
    );
    row(
      "storm: Rotor requests and CPU per rotation; kube-apiserver CPU",
      `${perCredential(s.requests, n)}; ${ms(s.cpuSeconds / n)}; ${apiserverCpu(s.load)}`,
    );
  }
  if (r.shards) {
    const s = r.shards;
    if ("skipped" in s) row("two shards", `skipped: ${s.skipped}`);
    else
      row(
        `two shards (\`--watch-label-selector=rotor.dev/shard=a\` and \`=b\`, a Lease each) splitting ${s.count ?? n} credentials: until all Ready; each shard's RSS / heap after GC`,
        `${seconds(s.seconds)}; ${s.shards.map((x) => `${x.name} (${x.count}): ${mib(x.rss)} / ${mib(x.heapUsed)} MiB`).join(", ")}`,
      );
  }
  return [
    "| figure | measured |",
    "|---|---|",
    ...rows.map(([figure, value]) => `| ${figure} | ${value} |`),
  ].join("\n");
}
