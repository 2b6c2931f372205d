/**
 * Leader election on a coordination.k8s.io Lease, after client-go's algorithm: try to acquire or
 * renew every `retryPeriodMs` (with jitter); a candidate takes over only when it has seen no
 * change of the lease record for `leaseDurationMs`, measured on its own clock; updates are
 * compare-and-swap on resourceVersion. A restarted container keeps its identity (the pod name),
 * so it takes its own lease back at once.
 *
 * Requests: the leader renews with one PUT per period. Like client-go's LeaseLock, it keeps the
 * Lease its last successful write returned and renews from that record and resourceVersion; it
 * reads (GET) only when it holds no record: on its first try, after an error, and after a 409
 * (someone else wrote, so it reads what they wrote at once, in the same try). A follower must
 * see whether the record changed, so it reads every period. Compare-and-swap still guards every
 * write: a renewal from a stale record is refused, never applied.
 *
 * Why two replicas never act together: a term is valid until `renewDeadlineMs` after the moment
 * its last successful renewal was *sent*, on the monotonic clock. The API server stored that
 * renewal after it was sent, and a follower waits `leaseDurationMs` from when it saw it, so the
 * term ends at least `leaseDurationMs − renewDeadlineMs` (5 s) before anyone else can start one,
 * even if the renewal's answer came late or the process was frozen in between. The term's
 * signal is aborted at its deadline by a timer, and `refresh()` checks the deadline on the spot
 * for work that resumes before that timer runs.
 */
import { type V1LeaseSpec, V1MicroTime } from "@kubernetes/client-node";
import { sleep } from "./backoff.ts";
import type { LeaseStore, StoredLease } from "./lease-store.ts";
import { describeError, type Logger } from "./log.ts";
import { WorkCancelled, type WorkScope } from "./scope.ts";

export interface LeaderElectionOptions {
  store: LeaseStore;
  identity: string;
  log: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Monotonic milliseconds (performance.now): deadlines never follow wall-clock jumps. */
  monotonic?: () => number;
  /** Wall-clock time written into the Lease (for people reading it; nobody compares it). */
  wallClock?: () => Date;
}

/** One period of leadership; its signal is aborted when it ends. */
export class LeaderTerm implements WorkScope {
  private readonly controller = new AbortController();
  private validUntil: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly monotonic: () => number;

  constructor(validUntil: number, monotonic: () => number) {
    this.validUntil = validUntil;
    this.monotonic = monotonic;
    this.schedule();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get active(): boolean {
    this.refresh();
    return !this.controller.signal.aborted;
  }

  /** A renewal sent at `sentAt` succeeded: the term lasts until `sentAt + renewDeadline`. */
  extend(validUntil: number): void {
    if (this.controller.signal.aborted) return;
    this.validUntil = Math.max(this.validUntil, validUntil);
    this.schedule();
  }

  refresh(): void {
    if (!this.controller.signal.aborted && this.monotonic() >= this.validUntil)
      this.end("the lease was not renewed before the renew deadline");
  }

  end(why: string): void {
    clearTimeout(this.timer);
    if (!this.controller.signal.aborted) this.controller.abort(new WorkCancelled(`leadership ended: ${why}`));
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!Number.isFinite(this.validUntil)) return; // a term without election ends only by end()
    this.timer = setTimeout(() => this.refresh(), Math.max(0, this.validUntil - this.monotonic()));
    this.timer.unref();
  }
}

export interface LeadershipCallbacks {
  /** Called with each new term; its signal says when it ends. */
  started(term: LeaderTerm): void;
  /** Called once a term has ended; campaigning resumes when the returned promise settles. */
  stopped(term: LeaderTerm): Promise<void>;
}

export class LeaderElector {
  private readonly options: Required<Omit<LeaderElectionOptions, "store" | "log" | "identity">> &
    LeaderElectionOptions;
  private observedRecord = "";
  private observedAt = 0;
  /** Who held the lease at the last read (or this replica, after it wrote it). */
  private holder: string | undefined;
  /** The lease this replica's last successful write stored; dropped on any failure. */
  private written: StoredLease | undefined;
  private term: LeaderTerm | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.options = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      monotonic: () => performance.now(),
      wallClock: () => new Date(),
      ...options,
    };
  }

  /** The current term, if this replica leads now (deadline checked on the spot). */
  get leading(): LeaderTerm | undefined {
    return this.term?.active ? this.term : undefined;
  }

  /** Campaigns until `stop()`: acquires, renews, steps down when a term ends, campaigns again. */
  run(callbacks: LeadershipCallbacks): void {
    this.loop ??= (async () => {
      while (!this.stopping.signal.aborted) {
        const before = this.term;
        const term = await this.attempt();
        if (term && term !== before) {
          this.options.log.info({ identity: this.options.identity }, "became leader");
          callbacks.started(term);
        }
        if (this.term && !this.term.active) {
          const ended = this.term;
          this.term = undefined;
          this.options.log.warn(
            { identity: this.options.identity, why: (ended.signal.reason as Error).message },
            "stopped leading; stepping down",
          );
          await callbacks.stopped(ended);
        }
        const jitter = this.term ? 0 : Math.random() * this.options.retryPeriodMs * 0.2;
        await sleep(this.options.retryPeriodMs + jitter, this.stopping.signal).catch(() => undefined);
      }
    })();
  }

  /**
   * One acquire-or-renew. Returns the term this replica holds afterwards (a new one on
   * acquiring), or undefined. Exposed for tests of the deadline arithmetic.
   */
  async attempt(): Promise<LeaderTerm | undefined> {
    const { monotonic, renewDeadlineMs, log } = this.options;
    const sentAt = monotonic();
    let held: boolean;
    try {
      held = await this.tryAcquireOrRenew();
    } catch (error) {
      log.warn({ error: describeError(error) }, "leader election: could not read or update the lease");
      held = false;
    }
    if (this.term) {
      if (held) this.term.extend(sentAt + renewDeadlineMs);
      else if (this.heldByOther) this.term.end(`${this.holder} holds the lease`);
      return this.term.active ? this.term : undefined;
    }
    if (!held || this.stopping.signal.aborted) return undefined;
    const term = new LeaderTerm(sentAt + renewDeadlineMs, monotonic);
    if (!term.active) return undefined; // acquired, but the answer came after the deadline
    this.term = term;
    return term;
  }

  /** Stops campaigning and ends the term, keeping the lease: it expires by itself. */
  async stop(why = "Rotor is shutting down"): Promise<void> {
    this.stopping.abort();
    this.term?.end(why);
    await this.loop;
  }

  /** Stops, then gives the lease up so that another replica takes over at once. */
  async release(): Promise<void> {
    await this.stop();
    try {
      const lease = await this.options.store.read();
      if (lease?.spec.holderIdentity !== this.options.identity) return;
      const released = await this.options.store.replace(
        { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: this.microTime() },
        lease.resourceVersion,
      );
      this.written = undefined;
      if (released) this.options.log.info("released the lease");
    } catch (error) {
      this.options.log.debug({ error: describeError(error) }, "could not release the lease");
    }
  }

  private get heldByOther(): boolean {
    return this.holder !== undefined && this.holder !== this.options.identity;
  }

  private microTime(): V1MicroTime {
    return new V1MicroTime(this.options.wallClock().getTime());
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { store, identity, leaseDurationMs, monotonic, log } = this.options;
    const leaseDurationSeconds = Math.round(leaseDurationMs / 1000);
    const now = this.microTime();
    // Kept only from one successful write to the next: an error (thrown here) leaves none, so
    // the next try reads.
    const written = this.written;
    this.written = undefined;
    if (written && this.term?.active) {
      // The leader's fast path: renew from the record it wrote, one request.
      if (await this.write(written, written.spec)) return true;
      log.debug("leader election: the lease changed since our last renewal; reading it");
    }
    const lease = await store.read();
    if (!lease) {
      this.holder = identity;
      this.written = await store.create({
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      });
      return this.written !== undefined;
    }
    const { spec } = lease;
    const record = JSON.stringify([
      spec.holderIdentity,
      spec.renewTime,
      spec.acquireTime,
      spec.leaseTransitions,
    ]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = monotonic();
    }
    this.holder = spec.holderIdentity || undefined;
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (this.heldByOther && monotonic() < this.observedAt + duration) return false;
    return this.write(lease, spec);
  }

  /** Compare-and-swap `lease` for this replica's renewal (or takeover) of the record `previous`. */
  private async write(lease: StoredLease, previous: V1LeaseSpec): Promise<boolean> {
    const { store, identity, leaseDurationMs } = this.options;
    const now = this.microTime();
    const ours = previous.holderIdentity === identity;
    const transitions = previous.leaseTransitions ?? 0;
    this.written = await store.replace(
      {
        holderIdentity: identity,
        leaseDurationSeconds: Math.round(leaseDurationMs / 1000),
        acquireTime: ours && previous.acquireTime ? previous.acquireTime : now,
        renewTime: now,
        leaseTransitions: ours ? transitions : transitions + 1,
      },
      lease.resourceVersion,
    );
    if (this.written) this.holder = identity;
    return this.written !== undefined;
  }
}
