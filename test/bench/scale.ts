/**
 * `npm run bench`: N ClientCredentials (embedded issuer, `rollout.strategy: None`) on one Rotor,
 * on the local control plane, against the floor — a bare client with one reused connection pool
 * making only the writes every credential needs. Prints one markdown table (stdout; progress on
 * stderr): time to Ready and its ratio to the floor, API requests per credential (Rotor's count
 * and the API server's), Rotor's CPU, RSS and V8 heap, the API server's CPU, the idle phase, a
 * rotation storm and, with --shards, two shards. Timings depend on the machine: this is a
 * benchmark, never a test.
 *
 *   npm run bench -- --count=1000 --concurrency=4 --idle=3m [--skip-floor] [--shards]
 *   npm run bench -- --phases=rotor,storm --count=200
 *   npm run bench -- --phases=rotor --count=1000 --heap-snapshot   (what holds the heap)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startControlPlane, stopControlPlane } from "../../hack/controlplane/controlplane.ts";
import { installCrds } from "../../hack/controlplane/install.ts";
import { OPERATOR_NAMESPACE } from "../../hack/operator/process.ts";
import { parseDuration } from "../../src/api/duration.ts";
import { removeFloor, runFloor } from "./scale/floor.ts";
import { measureIdle } from "./scale/idle.ts";
import { BenchClient, CC_API, forEachConcurrently } from "./scale/kube.ts";
import { ApiServerLoad, rotorRequests } from "./scale/load.ts";
import { cpuSeconds, diff, summarizeHeap, writeHeapSnapshot } from "./scale/probe.ts";
import { type Results, table } from "./scale/report.ts";
import {
  isReady,
  type MeasuredRotor,
  type Memory,
  memory,
  sleep,
  startMeasuredRotor,
  tenths,
  track,
  waitForLeader,
} from "./scale/rotor.ts";
import { runShards } from "./scale/shards.ts";
import { runStorm } from "./scale/storm.ts";
import { Watcher } from "./scale/watch.ts";

const PHASES = ["floor", "rotor", "idle", "storm", "shards"] as const;
const { values } = parseArgs({
  options: {
    count: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "4" },
    idle: { type: "string", default: "3m" },
    phases: { type: "string", default: "floor,rotor,idle,storm" },
    "skip-floor": { type: "boolean", default: false },
    shards: { type: "boolean", default: false },
    /** Writes a heap snapshot at N Ready and prints what holds the heap (stderr). */
    "heap-snapshot": { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const idleSeconds = parseDuration(values.idle) / 1000;
const phases = new Set(values.phases.split(",").map((p) => p.trim()));
for (const phase of phases)
  if (!(PHASES as readonly string[]).includes(phase))
    throw new Error(`unknown phase ${phase}: choose from ${PHASES.join(", ")}`);
if (values["skip-floor"]) phases.delete("floor");
if (values.shards) phases.add("shards");
// The idle phase and the storm run on the credentials the Rotor phase created.
if (phases.has("idle") || phases.has("storm")) phases.add("rotor");
if (!Number.isInteger(count) || count < 2 || !Number.isInteger(concurrency) || concurrency < 1)
  throw new Error("--count must be a whole number ≥ 2 and --concurrency ≥ 1");

const log = (line: string) => process.stderr.write(`${line}\n`);
const root = join(import.meta.dirname, "..", "..");
const credential = (i: number, labels: Record<string, string> = {}) => ({
  apiVersion: "rotor.dev/v1alpha1",
  kind: "ClientCredential",
  metadata: { name: `app-${i}`, labels },
  spec: { description: `benchmark app ${i}`, rollout: { strategy: "None" } },
});

log("building Rotor (npm run build)");
execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: ["ignore", 2, 2] });
const dir = mkdtempSync(join(tmpdir(), "rotor-bench-scale-"));
const rotors: MeasuredRotor[] = [];
const watchers: Watcher[] = [];
let client: BenchClient | undefined;
let cleaning: Promise<void> | undefined;
const cleanup = () => {
  cleaning ??= (async () => {
    for (const watcher of watchers) await watcher.stop();
    for (const rotor of rotors) await rotor.process.stop().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await stopControlPlane(dir);
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });

const results: Results = { count, concurrency };
try {
  const plane = await startControlPlane({ dir, nodes: 1, log: (line) => log(`[controlplane] ${line}`) });
  await installCrds(plane);
  const bench = new BenchClient(plane.server, plane.kubeconfig);
  client = bench;
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { pids: Record<string, number> };
  const apiserverPid = state.pids["kube-apiserver"] as number;
  await bench.create("/api/v1/namespaces", { metadata: { name: OPERATOR_NAMESPACE } });
  const load = new ApiServerLoad(bench, apiserverPid);
  log("measuring the control plane's own background requests for 10 s");
  await sleep(5000);
  await load.measureBackground(10_000);

  if (phases.has("floor")) {
    const namespace = "bench-floor";
    await bench.create("/api/v1/namespaces", { metadata: { name: namespace } });
    const window = await load.open();
    const seconds = await runFloor(bench, {
      namespace,
      count,
      concurrency,
      credential,
      progress: tenths("floor", count),
    });
    results.floor = { seconds, load: await load.close(window) };
    log("removing the floor's objects");
    await removeFloor(bench, namespace, concurrency);
  }

  if (phases.has("rotor")) {
    const namespace = "bench";
    await bench.create("/api/v1/namespaces", { metadata: { name: namespace } });
    const watcher = new Watcher(bench, `${CC_API}/namespaces/${namespace}/clientcredentials`);
    watchers.push(watcher);
    await watcher.start();
    const lease = new Watcher(
      bench,
      `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases?fieldSelector=metadata.name%3Drotor-leader`,
    );
    watchers.push(lease);
    await lease.start();
    const rotor = await startMeasuredRotor(plane);
    rotors.push(rotor);
    await waitForLeader(rotor.process);
    await sleep(3000);
    const atZero = await memory(rotor);
    const heapAtZero = join(tmpdir(), "rotor-0.heapsnapshot");
    if (values["heap-snapshot"]) await writeHeapSnapshot(rotor.inspectPort, heapAtZero);
    log(`Rotor leads; RSS ${(atZero.rss / 1048576).toFixed(0)} MiB`);

    const names = Array.from({ length: count }, (_, i) => `app-${i}`);
    const requestsBefore = await rotorRequests(rotor.process.metricsUrl);
    const cpuBefore = cpuSeconds(rotor.pid);
    const window = await load.open();
    const progress = tenths("rotor", count, window.started);
    let atHalf: Promise<Memory> | undefined;
    const ready = track(watcher, names, isReady, (done) => {
      progress(done);
      if (done === Math.floor(count / 2)) atHalf = memory(rotor);
    });
    await forEachConcurrently(count, concurrency, async (i) => {
      await bench.create(`${CC_API}/namespaces/${namespace}/clientcredentials`, credential(i));
    });
    const finished = await ready.finished;
    const cpuSecondsUsed = cpuSeconds(rotor.pid) - cpuBefore;
    const requests = diff(await rotorRequests(rotor.process.metricsUrl), requestsBefore);
    const phaseLoad = await load.close(window);
    results.rotor = {
      seconds: (finished - window.started) / 1000,
      load: phaseLoad,
      requests,
      cpuSeconds: cpuSecondsUsed,
      memory: [atZero, await (atHalf as Promise<Memory>), await memory(rotor)],
    };
    if (values["heap-snapshot"]) {
      const file = join(tmpdir(), `rotor-${count}.heapsnapshot`);
      await writeHeapSnapshot(rotor.inspectPort, file);
      log(
        `heap snapshots at 0 and ${count} Ready: ${heapAtZero}, ${file}; what grew:\n${summarizeHeap(file, heapAtZero)}`,
      );
    }

    if (phases.has("idle")) {
      log(`idle for ${idleSeconds} s`);
      results.idle = await measureIdle(rotor, lease, idleSeconds);
      results.afterIdle = await memory(rotor);
    }
    await lease.stop();

    if (phases.has("storm")) {
      const stormRequestsBefore = await rotorRequests(rotor.process.metricsUrl);
      const stormCpuBefore = cpuSeconds(rotor.pid);
      const stormWindow = await load.open();
      const storm = await runStorm(bench, watcher, namespace, names, concurrency);
      results.storm = {
        ...storm,
        cpuSeconds: cpuSeconds(rotor.pid) - stormCpuBefore,
        requests: diff(await rotorRequests(rotor.process.metricsUrl), stormRequestsBefore),
        load: await load.close(stormWindow),
      };
    }
    await watcher.stop();
    // Shards must not share the credentials with a Rotor that watches them all.
    await rotor.process.stop();
  }

  if (phases.has("shards")) {
    const shards = await runShards(plane, bench, {
      namespace: "bench-shards",
      count,
      concurrency,
      credential,
      started: (rotor) => rotors.push(rotor),
    });
    results.shards = { ...shards, count };
  }

  const revision = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: root,
    encoding: "utf8",
  }).trim();
  console.log(
    `\n${count} ClientCredentials (embedded issuer, rollout.strategy None) created at concurrency ${concurrency}; ` +
      `Rotor ${revision} compiled (dist/main.js), default flags, on the local control plane (${availableParallelism()} cores, Node ${process.version}).\n`,
  );
  console.log(table(results));
} finally {
  await cleanup();
}
