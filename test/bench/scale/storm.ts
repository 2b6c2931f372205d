/**
 * The rotation storm: every credential asked to rotate in one burst (the `rotor.dev/rotate`
 * annotation, at the bench's concurrency), timed per credential from the annotation's write
 * (the PATCH answered) to the switch: the status shows the new secret as current for that
 * request (`status.lastRotateRequest` is the new value and `status.currentSecretId` changed;
 * Rotor writes the target Secret just before).
 */
import { ROTATE_ANNOTATION } from "../../../src/api/metadata.ts";
import { type BenchClient, CC_API, forEachConcurrently, type KubeObject } from "./kube.ts";
import { tenths, track } from "./rotor.ts";
import type { Watcher } from "./watch.ts";

export interface StormResult {
  /** From the first annotation written to the last switch. */
  seconds: number;
  /** How long the burst of annotations took to write. */
  burstSeconds: number;
  p50: number;
  p99: number;
  max: number;
}

interface CcStatus {
  currentSecretId?: string;
  lastRotateRequest?: string;
}
const statusOf = (cc: KubeObject | undefined) => cc?.status as CcStatus | undefined;

export async function runStorm(
  client: BenchClient,
  watcher: Watcher,
  namespace: string,
  names: string[],
  concurrency: number,
): Promise<StormResult> {
  const stamp = `storm-${Date.now()}`;
  const before = new Map(names.map((name) => [name, statusOf(watcher.objects.get(name))?.currentSecretId]));
  const started = Date.now();
  const tracking = track(
    watcher,
    names,
    (cc) => {
      const status = statusOf(cc);
      return (
        status?.lastRotateRequest === stamp &&
        Boolean(status.currentSecretId) &&
        status.currentSecretId !== before.get(cc.metadata.name)
      );
    },
    tenths("storm", names.length, started),
  );
  const requested = new Map<string, number>();
  await forEachConcurrently(names.length, concurrency, async (i) => {
    const name = names[i] as string;
    await client.patch(`${CC_API}/namespaces/${namespace}/clientcredentials/${name}`, {
      metadata: { annotations: { [ROTATE_ANNOTATION]: stamp } },
    });
    requested.set(name, Date.now());
  });
  const burstSeconds = (Date.now() - started) / 1000;
  const finished = await tracking.finished;
  const latencies = names
    .map((name) => Math.max(0, (tracking.times.get(name) ?? 0) - (requested.get(name) ?? 0)) / 1000)
    .sort((a, b) => a - b);
  return {
    seconds: (finished - started) / 1000,
    burstSeconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? 0,
  };
}

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
}
