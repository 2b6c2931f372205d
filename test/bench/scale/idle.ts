/**
 * The idle phase: every credential is Ready and nothing is due, so Rotor should make no
 * reconcile and no write, only its leader Lease renewals and watches. Measured from Rotor's
 * own metrics; Lease updates are counted on a watch of its Lease (or from the metric's
 * `resource` label when Rotor has it).
 */
import { rotorMetrics } from "./load.ts";
import { cpuSeconds, diff, type Sample, sumBy, total } from "./probe.ts";
import { type MeasuredRotor, sleep } from "./rotor.ts";
import type { Watcher } from "./watch.ts";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface IdleSpan {
  seconds: number;
  requests: number;
  /** Requests on Leases, when Rotor's metric says which resource a request was for. */
  leaseRequests: number | undefined;
  writes: number;
  /** Writes other than the leader Lease's (by the metric's resource label, else less the Lease updates seen). */
  writesBesidesLease: number;
  /** Updates of Rotor's leader Lease seen on the bench's watch of it. */
  leaseUpdates: number;
  reconciles: number;
  cpuSeconds: number;
}

interface Point {
  at: number;
  samples: Sample[];
  cpu: number;
  leaseUpdates: number;
}

/** Watches Rotor for `seconds`; returns the whole span and, when it is longer, its first 30 s and the rest. */
export async function measureIdle(
  rotor: MeasuredRotor,
  lease: Watcher,
  seconds: number,
): Promise<{ whole: IdleSpan; first30s: IdleSpan | undefined; after30s: IdleSpan | undefined }> {
  let leaseUpdates = 0;
  const unsubscribe = lease.on((_object, type) => {
    if (type === "MODIFIED") leaseUpdates++;
  });
  const point = async (): Promise<Point> => ({
    at: Date.now(),
    samples: await rotorMetrics(rotor.process.metricsUrl),
    cpu: cpuSeconds(rotor.pid),
    leaseUpdates,
  });
  try {
    const start = await point();
    let mid: Point | undefined;
    if (seconds > 45) {
      await sleep(30_000);
      mid = await point();
      process.stderr.write(`[idle] 30 s of ${seconds} s\n`);
    }
    await sleep(seconds * 1000 - (Date.now() - start.at));
    const end = await point();
    return { whole: span(start, end), first30s: mid && span(start, mid), after30s: mid && span(mid, end) };
  } finally {
    unsubscribe();
  }
}

function span(from: Point, to: Point): IdleSpan {
  const requestsBy = (samples: Sample[]) =>
    sumBy(samples, "rotor_kube_api_requests_total", (l) => `${l.method} ${l.resource ?? ""}`);
  const requests = diff(requestsBy(to.samples), requestsBy(from.samples));
  const hasResource = [...requests.keys()].some((key) => !key.endsWith(" "));
  const count = (keep: (method: string, resource: string) => boolean) =>
    total(
      new Map(
        [...requests].filter(([key]) => {
          const [method = "", resource = ""] = key.split(" ");
          return keep(method, resource);
        }),
      ),
    );
  const reconciles = (samples: Sample[]) => total(sumBy(samples, "rotor_reconcile_duration_seconds_count"));
  return {
    seconds: (to.at - from.at) / 1000,
    requests: total(requests),
    leaseRequests: hasResource ? count((_m, resource) => resource.includes("lease")) : undefined,
    writes: count((method) => WRITES.has(method)),
    writesBesidesLease: hasResource
      ? count((method, resource) => WRITES.has(method) && !resource.includes("lease"))
      : count((method) => WRITES.has(method)) - (to.leaseUpdates - from.leaseUpdates),
    leaseUpdates: to.leaseUpdates - from.leaseUpdates,
    reconciles: reconciles(to.samples) - reconciles(from.samples),
    cpuSeconds: to.cpu - from.cpu,
  };
}
