/**
 * The faults, on schedule: the leader (the Lease's holderIdentity) killed with SIGKILL, and the
 * API server stopped, left down, and started again (hack/controlplane/faults.ts). Kills take
 * turns between two cases a cluster knows: the container crashed (the kubelet starts it again at
 * once, in the same pod, under the same name: it may take its own Lease back at once) and the
 * node was lost (the pod comes back only after the Lease expired: the other replica takes over).
 * For each kill, how long until some replica renewed the Lease (the first renewal after the
 * kill); for each restart, how long the API server was away in all (down plus its start-up).
 */
import { restartComponent } from "../../hack/controlplane/faults.ts";
import { OPERATOR_NAMESPACE } from "../../hack/operator/process.ts";
import { sleep } from "../../src/runtime/backoff.ts";
import type { BenchClient, KubeObject } from "../bench/scale/kube.ts";
import { Watcher } from "../bench/scale/watch.ts";
import type { ScheduledFault } from "./options.ts";
import type { Replica } from "./replicas.ts";

export interface FaultResult extends ScheduledFault {
  /** When it actually happened, ms after the run's start. */
  didMs: number;
  /** leader-kill: the identity killed, or why nothing was. api-restart: seconds away in all. */
  detail: string;
  /** leader-kill: seconds from the kill to the next Lease renewal (any replica), if seen. */
  seconds?: number;
  holderAfter?: string;
}

type Lease = KubeObject & { spec?: { holderIdentity?: string; renewTime?: string } };

const LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases?fieldSelector=metadata.name%3Drotor-leader`;
const FAILOVER_WAIT_MS = 120_000;
const KILLS = [
  { restartAfterMs: 1000, what: "container restarted after 1 s" },
  // Past the Lease's 15 s duration: the follower must take over.
  { restartAfterMs: 20_000, what: "back after 20 s, as from a lost node" },
];

export class Faults {
  readonly results: FaultResult[] = [];
  readonly lease: Watcher;
  private readonly replicas: Replica[];
  private readonly dir: string | undefined;
  private readonly apiDownMs: number;
  private readonly log: (line: string) => void;
  private stopped = false;
  private kills = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    client: BenchClient,
    replicas: Replica[],
    options: { dir: string | undefined; apiDownMs: number; log: (line: string) => void },
  ) {
    this.lease = new Watcher(client, LEASE_PATH);
    this.replicas = replicas;
    this.dir = options.dir;
    this.apiDownMs = options.apiDownMs;
    this.log = options.log;
  }

  holder(): string | undefined {
    return (this.lease.objects.get("rotor-leader") as Lease | undefined)?.spec?.holderIdentity;
  }

  /** Runs the schedule from `runStart`; resolves when the last fault is done (or on stop). */
  async run(schedule: ScheduledFault[], runStart: number): Promise<void> {
    for (const fault of schedule) {
      while (!this.stopped && Date.now() < runStart + fault.atMs) await sleep(250);
      if (this.stopped) break;
      const didMs = Date.now() - runStart;
      if (fault.kind === "leader-kill") await this.killLeader(fault, didMs);
      else await this.restartApiServer(fault, didMs);
    }
    await Promise.all(this.pending);
  }

  stop(): void {
    this.stopped = true;
  }

  private async killLeader(fault: ScheduledFault, didMs: number): Promise<void> {
    const identity = this.holder();
    const replica = this.replicas.find((r) => r.identity === identity);
    if (!replica?.rotor.alive) {
      this.results.push({
        ...fault,
        didMs,
        detail: `no live leader to kill (Lease holder ${identity ?? "none"})`,
      });
      this.log(`fault: no live leader to kill (Lease holder ${identity ?? "none"})`);
      return;
    }
    const how = KILLS[this.kills++ % KILLS.length] as (typeof KILLS)[number];
    const result: FaultResult = { ...fault, didMs, detail: `killed ${replica.identity}, ${how.what}` };
    this.results.push(result);
    const killedAt = Date.now();
    this.log(`fault: SIGKILL of the leader ${replica.identity}, ${how.what}`);
    await replica.kill(how.restartAfterMs);
    const renewed = this.renewedAfter(killedAt).then((lease) => {
      if (!lease) return this.log(`fault: no Lease renewal within ${FAILOVER_WAIT_MS / 1000} s of the kill`);
      result.seconds = (Date.parse(lease.spec?.renewTime ?? "") - killedAt) / 1000;
      result.holderAfter = lease.spec?.holderIdentity;
      this.log(`fault: ${result.holderAfter} leads ${result.seconds.toFixed(1)} s after the kill`);
    });
    const settled = renewed.finally(() => this.pending.delete(settled));
    this.pending.add(settled);
  }

  /** The first version of the Lease renewed after `since`. */
  private renewedAfter(since: number): Promise<Lease | undefined> {
    return new Promise((resolve) => {
      const check = (object: KubeObject) => {
        const lease = object as Lease;
        if (Date.parse(lease.spec?.renewTime ?? "") <= since) return;
        done(lease);
      };
      const unsubscribe = this.lease.on(check);
      const timer = setTimeout(() => done(undefined), FAILOVER_WAIT_MS);
      const done = (lease: Lease | undefined) => {
        unsubscribe();
        clearTimeout(timer);
        resolve(lease);
      };
    });
  }

  private async restartApiServer(fault: ScheduledFault, didMs: number): Promise<void> {
    if (!this.dir) {
      this.results.push({ ...fault, didMs, detail: "skipped: no control plane directory" });
      return;
    }
    this.log(`fault: kube-apiserver stopped for ${this.apiDownMs / 1000} s`);
    const started = Date.now();
    const startup = await restartComponent(this.dir, "kube-apiserver", { downMs: this.apiDownMs });
    const away = (Date.now() - started) / 1000;
    this.results.push({ ...fault, didMs, detail: `away ${away.toFixed(1)} s`, seconds: away });
    this.log(
      `fault: kube-apiserver Ready again after ${away.toFixed(1)} s (start-up ${startup.toFixed(1)} s)`,
    );
  }
}
