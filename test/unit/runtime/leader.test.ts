import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { LeaderElector } from "../../../src/runtime/leader.ts";
import { WorkCancelled } from "../../../src/runtime/scope.ts";
import { Clock, MemoryLease } from "./memory-lease.ts";

const log = pino({ level: "silent" });

const elector = (lease: MemoryLease, identity: string) =>
  new LeaderElector({
    store: lease,
    identity,
    log,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    monotonic: lease.clock.monotonic,
    wallClock: () => new Date(lease.clock.now),
  });

describe("LeaderElector deadline arithmetic (monotonic clock injected)", () => {
  it("ends a term renewDeadline after its last successful renewal was sent, not after the answer came", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const sentAt = clock.now;
    lease.latencyMs = 1_500; // two slow round trips (read, then create): the answer comes 3 s late
    const term = await a.attempt();
    expect(term).toBeDefined();
    expect(clock.now - sentAt).toBe(3_000);
    clock.advance(10_000 - 3_000 - 1);
    expect(term?.active).toBe(true);
    clock.advance(1);
    expect(term?.active).toBe(false);
    expect(term?.signal.aborted).toBe(true);
    expect(term?.signal.reason).toBeInstanceOf(WorkCancelled);
  });

  it("extends the term from each renewal's send time", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    clock.advance(2_000);
    const renewSentAt = clock.now;
    lease.latencyMs = 4_000;
    expect(await a.attempt()).toBe(term);
    clock.advance(renewSentAt + 10_000 - clock.now - 1);
    expect(term?.active).toBe(true);
    clock.advance(1);
    expect(term?.active).toBe(false);
  });

  it("does not extend the term when renewals fail, and ends it at the deadline without waiting for a timer", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    lease.failing = true;
    for (let i = 0; i < 4; i++) {
      clock.advance(2_000);
      expect(await a.attempt()).toBe(term);
    }
    // Frozen (SIGSTOP) past the deadline: the first thing that looks sees the term over.
    clock.advance(30_000);
    term?.refresh();
    expect(term?.signal.aborted).toBe(true);
    expect(a.leading).toBeUndefined();
  });

  it("ends the term at once when another replica holds the lease", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    lease.spec = { ...lease.spec, holderIdentity: "b" };
    lease.version++;
    clock.advance(2_000);
    expect(await a.attempt()).toBeUndefined();
    expect(term?.signal.aborted).toBe(true);
  });

  it("lets a follower take over only after leaseDuration without a change of the record, on its own clock", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const b = elector(lease, "b");
    await a.attempt();
    expect(await b.attempt()).toBeUndefined(); // b sees the record now
    clock.advance(5_000);
    await a.attempt(); // a renews: the record changes
    clock.advance(1_000);
    expect(await b.attempt()).toBeUndefined(); // b sees the change: its wait starts again
    clock.advance(14_999);
    expect(await b.attempt()).toBeUndefined();
    clock.advance(1);
    expect(await b.attempt()).toBeDefined();
    expect(lease.spec?.holderIdentity).toBe("b");
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  it("never lets two terms overlap: a frozen leader's term ends ≥ 5 s before a follower's starts", async () => {
    for (const latencyMs of [0, 500, 3_000]) {
      const clock = new Clock();
      const lease = new MemoryLease(clock);
      lease.latencyMs = latencyMs;
      const a = elector(lease, "a");
      const b = elector(lease, "b");
      const term = await a.attempt();
      await b.attempt();
      // a renews a few times, then freezes (no more attempts); b keeps trying every 2 s.
      for (let i = 0; i < 3; i++) {
        clock.advance(2_000);
        await a.attempt();
        await b.attempt();
      }
      let aEnded: number | undefined;
      let bStarted: number | undefined;
      while (bStarted === undefined) {
        clock.advance(100);
        if (aEnded === undefined && !term?.active) aEnded = clock.now;
        if (clock.now % 2_000 === 0 && (await b.attempt())) bStarted = clock.now;
      }
      expect(aEnded).toBeDefined();
      expect((bStarted as number) - (aEnded as number)).toBeGreaterThanOrEqual(5_000);
    }
  });

  it("takes a released lease at once", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const b = elector(lease, "b");
    const term = await a.attempt();
    await b.attempt();
    await a.release();
    expect(term?.signal.aborted).toBe(true);
    expect(lease.spec?.holderIdentity).toBeUndefined();
    expect(await b.attempt()).toBeDefined();
  });

  it("stop() ends the term and leaves the lease to expire", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    const version = lease.version;
    await a.stop();
    expect(term?.signal.aborted).toBe(true);
    expect(lease.version).toBe(version);
    expect(lease.spec?.holderIdentity).toBe("a");
  });
});

describe("LeaderElector requests (what the API server sees)", () => {
  const calls = (lease: MemoryLease) => ({ ...lease.calls });

  it("acquires with a read and a create, then renews with one replace per period and no read", async () => {
    for (const renewals of [1, 5, 50]) {
      const clock = new Clock();
      const lease = new MemoryLease(clock);
      const a = elector(lease, "a");
      const term = await a.attempt();
      expect(calls(lease)).toEqual({ read: 1, create: 1, replace: 0 });
      for (let i = 0; i < renewals; i++) {
        clock.advance(2_000);
        expect(await a.attempt()).toBe(term);
      }
      expect(calls(lease)).toEqual({ read: 1, create: 1, replace: renewals });
      expect(lease.version).toBe(1 + renewals); // every replace was stored
      expect(lease.spec?.renewTime?.getTime()).toBe(clock.now);
      expect(lease.spec?.leaseTransitions).toBe(0);
    }
  });

  it("reads after a conflict, in the same try, and renews on if the lease is still its own", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    const acquireTime = lease.spec?.acquireTime;
    // Someone edits the lease (the holder stays a): the version a holds is stale.
    lease.overwrite({ ...lease.spec, leaseDurationSeconds: 15 });
    clock.advance(2_000);
    const sentAt = clock.now;
    expect(await a.attempt()).toBe(term);
    expect(calls(lease)).toEqual({ read: 2, create: 1, replace: 2 }); // refused replace, read, replace
    expect(lease.spec?.holderIdentity).toBe("a");
    expect(lease.spec?.acquireTime).toEqual(acquireTime);
    // The renewal counted: the term lasts renewDeadline from this try's send time.
    clock.advance(10_000 - 1);
    expect(term?.active).toBe(true);
    clock.advance(1);
    expect(term?.active).toBe(false);
    expect(sentAt + 10_000).toBe(clock.now);
  });

  it("after a conflict it renews from the record it read: back to one replace per period", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    await a.attempt();
    lease.overwrite({ ...lease.spec });
    clock.advance(2_000);
    await a.attempt();
    const before = calls(lease);
    for (let i = 0; i < 3; i++) {
      clock.advance(2_000);
      await a.attempt();
    }
    expect(calls(lease)).toEqual({ ...before, replace: before.replace + 3 });
  });

  it("ends the term when the conflict was a takeover, writing nothing over it", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    lease.overwrite({ ...lease.spec, holderIdentity: "b", leaseTransitions: 1 });
    clock.advance(2_000);
    expect(await a.attempt()).toBeUndefined();
    expect(term?.signal.aborted).toBe(true);
    expect(calls(lease)).toEqual({ read: 2, create: 1, replace: 1 }); // the refused replace only
    expect(lease.spec?.holderIdentity).toBe("b");
  });

  it("reads again on the try after an error, and never renews blind from a record it lost", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    lease.failing = true;
    clock.advance(2_000);
    expect(await a.attempt()).toBe(term); // the renewal failed; the term runs on to its deadline
    lease.failing = false;
    clock.advance(2_000);
    expect(await a.attempt()).toBe(term);
    expect(calls(lease)).toEqual({ read: 2, create: 1, replace: 2 });
  });

  it("reads when its term has ended, even though the lease it wrote last may still be its own", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const term = await a.attempt();
    clock.advance(10_000); // frozen past the renew deadline
    expect(term?.active).toBe(false);
    const reads = lease.calls.read;
    const next = await a.attempt();
    expect(lease.calls.read).toBe(reads + 1);
    expect(next).toBeUndefined(); // an ended term is never renewed
    expect(a.leading).toBeUndefined();
  });

  it("a follower reads once per period and writes nothing; it takes over only after leaseDuration unchanged", async () => {
    const clock = new Clock();
    const lease = new MemoryLease(clock);
    const a = elector(lease, "a");
    const b = elector(lease, "b");
    await a.attempt();
    const before = calls(lease);
    let tries = 0;
    // a stops renewing (it died); b sees the same record for 15 s before it may take over.
    expect(await b.attempt()).toBeUndefined();
    tries++;
    while (clock.now - 1_000_000 < 14_000) {
      clock.advance(2_000);
      expect(await b.attempt()).toBeUndefined();
      tries++;
    }
    expect(calls(lease)).toEqual({ ...before, read: before.read + tries });
    clock.advance(1_000); // 15 s since b first saw the record
    expect(await b.attempt()).toBeDefined();
    expect(lease.spec?.holderIdentity).toBe("b");
    expect(lease.spec?.leaseTransitions).toBe(1);
  });
});
