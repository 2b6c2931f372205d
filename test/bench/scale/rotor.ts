/**
 * Rotor under measurement: started compiled (as production runs it) with the inspector open,
 * so the bench can force a garbage collection and read the heap without changing Rotor's code.
 */
import type { ControlPlane } from "../../../hack/controlplane/controlplane.ts";
import { freePort } from "../../../hack/controlplane/controlplane.ts";
import { kubectl } from "../../../hack/controlplane/install.ts";
import { type RotorProcess, startRotor } from "../../../hack/operator/process.ts";
import type { KubeObject } from "./kube.ts";
import { rotorMetrics } from "./load.ts";
import { memoryAfterGc, rssBytes, sumBy } from "./probe.ts";
import type { Watcher } from "./watch.ts";

export interface MeasuredRotor {
  process: RotorProcess;
  pid: number;
  inspectPort: number;
}

export async function startMeasuredRotor(plane: ControlPlane, args: string[] = []): Promise<MeasuredRotor> {
  const inspectPort = await freePort();
  const rotor = await startRotor(
    { kubeconfig: plane.kubeconfig, kubectl: (a) => kubectl(plane, a) },
    { compiled: true, nodeArgs: ["--expose-gc", `--inspect=127.0.0.1:${inspectPort}`], args },
  );
  const pid = rotor.pid;
  if (pid === undefined) throw new Error("Rotor has no pid");
  return { process: rotor, pid, inspectPort };
}

/** Waits until Rotor leads (`rotor_leader` 1): before that it reconciles nothing. */
export async function waitForLeader(rotor: RotorProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const leader = sumBy(await rotorMetrics(rotor.metricsUrl), "rotor_leader").get("");
    if (leader === 1) return;
    await sleep(250);
  }
  throw new Error(`Rotor did not become leader within ${timeoutMs / 1000}s:\n${rotor.output().slice(-2000)}`);
}

export interface Memory {
  rss: number;
  heapUsed: number;
}

/** RSS from /proc and the V8 heap used right after a forced full GC. */
export async function memory(rotor: MeasuredRotor): Promise<Memory> {
  const usage = await memoryAfterGc(rotor.inspectPort);
  return { rss: rssBytes(rotor.pid), heapUsed: usage.heapUsed };
}

export const isReady = (cc: KubeObject): boolean => {
  const status = cc.status as
    | { currentSecretId?: string; conditions?: Array<{ type: string; status: string }> }
    | undefined;
  return (
    Boolean(status?.currentSecretId) && status?.conditions?.find((c) => c.type === "Ready")?.status === "True"
  );
};

export interface Tracking {
  /** When each named object first met the condition (ms since the epoch). */
  times: Map<string, number>;
  /** Resolves when all have, with the time the last one did. */
  finished: Promise<number>;
}

/**
 * Follows the named objects on `watcher` until each has met `done` once. Reports progress every
 * 10%; fails when nothing moves for `stallMs`.
 */
export function track(
  watcher: Watcher,
  names: string[],
  done: (object: KubeObject) => boolean,
  progress: (count: number) => void,
  stallMs = 10 * 60_000,
): Tracking {
  const wanted = new Set(names);
  const times = new Map<string, number>();
  let resolve: (at: number) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const finished = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let lastMove = Date.now();
  const check = (object: KubeObject) => {
    const name = object.metadata.name;
    if (!wanted.has(name) || times.has(name) || !done(object)) return;
    const now = Date.now();
    times.set(name, now);
    lastMove = now;
    progress(times.size);
    if (times.size === wanted.size) {
      stop();
      resolve(now);
    }
  };
  const unsubscribe = watcher.on(check);
  const guard = setInterval(() => {
    if (Date.now() - lastMove > stallMs) {
      stop();
      reject(new Error(`stalled: ${times.size}/${wanted.size} after ${stallMs / 1000}s without progress`));
    }
  }, 5000);
  const stop = () => {
    unsubscribe();
    clearInterval(guard);
  };
  for (const object of watcher.objects.values()) check(object);
  return { times, finished };
}

/** A progress callback that prints a line to stderr at every tenth of `total`. */
export function tenths(label: string, total: number, since = Date.now()): (count: number) => void {
  let printed = 0;
  return (count) => {
    const tenth = Math.floor((count * 10) / total);
    if (tenth <= printed && count !== total) return;
    if (count === total && printed === 10) return;
    printed = count === total ? 10 : tenth;
    const seconds = ((Date.now() - since) / 1000).toFixed(1);
    process.stderr.write(
      `[${label}] ${count}/${total} (${Math.round((count * 100) / total)}%) ${seconds} s\n`,
    );
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
