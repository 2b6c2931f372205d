/**
 * Leader election on a coordination.k8s.io Lease, after client-go's algorithm: try to acquire or
 * renew every `retryPeriodMs` (with jitter); a candidate takes over only when it has seen no
 * change of the lease record for `leaseDurationMs`, measured on its own clock; a leader that
 * cannot renew within `renewDeadlineMs` stops leading. Updates are compare-and-swap on
 * resourceVersion. A restarted container keeps its identity (the pod name), so it takes its
 * own lease back at once.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { isConflict, isNotFound, makeClient } from "./kube.ts";
import { describeError, type Logger } from "./log.ts";

export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private observedRecord = "";
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  private readonly options: LeaderElectionOptions;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.api = makeClient(options.kc, CoordinationV1Api, 5000);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns until stopped; calls `onStarted` on acquiring and `onLost` when leadership is lost. */
  run(onStarted: () => void, onLost: () => void): void {
    const tick = async () => {
      if (this.stopped) return;
      const ok = await this.tryAcquireOrRenew();
      const now = Date.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.options.log.info(
            { lease: this.options.name, identity: this.options.identity },
            "became leader",
          );
          onStarted();
        }
      } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.options.log.error({ lease: this.options.name }, "lost leadership");
        onLost();
        return;
      }
      const jitter = this.leading ? 0 : Math.random() * this.retryPeriodMs * 0.2;
      this.timer = setTimeout(() => void tick(), this.retryPeriodMs + jitter);
    };
    void tick();
  }

  /** Gives the lease up, so that another replica takes over without waiting for it to expire. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
      });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        renewTime: new V1MicroTime(),
      };
      await this.api.replaceNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
        body: lease,
      });
    } catch (error) {
      this.options.log.debug({ error: describeError(error) }, "could not release the lease");
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.options;
    const now = new Date();
    const leaseDurationSeconds = Math.round(this.leaseDurationMs / 1000);
    try {
      let lease: V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: new V1MicroTime(now),
              renewTime: new V1MicroTime(now),
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify([
        spec.holderIdentity,
        spec.renewTime,
        spec.acquireTime,
        spec.leaseTransitions,
      ]);
      if (record !== this.observedRecord) {
        this.observedRecord = record;
        this.observedAt = Date.now();
      }
      const holder = spec.holderIdentity;
      const heldByOther = holder && holder !== identity;
      const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (heldByOther && this.observedAt + duration > Date.now()) return false;
      const transitions = spec.leaseTransitions ?? 0;
      lease.spec = {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: holder === identity && spec.acquireTime ? spec.acquireTime : new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: holder === identity ? transitions : transitions + 1,
      };
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (error) {
      if (!isConflict(error))
        this.options.log.warn({ error: describeError(error) }, "leader election: could not update the lease");
      return false;
    }
  }
}
