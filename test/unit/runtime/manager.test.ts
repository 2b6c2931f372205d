import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { LeaderElector } from "../../../src/runtime/leader.ts";
import { Manager, type Watch } from "../../../src/runtime/manager.ts";
import { MemoryLease } from "./memory-lease.ts";

const log = pino({ level: process.env.DEBUG_TEST ? "debug" : "silent" });

/** A lease on the real monotonic clock that records when its holder changes. */
function lease(history: string[]) {
  const clock = { now: 0, monotonic: () => performance.now(), advance: () => undefined };
  const store = new MemoryLease(clock as never);
  const replace = store.replace.bind(store);
  store.replace = async (spec, version) => {
    const written = await replace(spec, version);
    if (written && !spec.holderIdentity) history.push("lease released");
    return written;
  };
  return store;
}

function setUp(reconcile: (signal: AbortSignal) => Promise<void>, shutdownTimeoutMs: number) {
  const history: string[] = [];
  const store = lease(history);
  const elector = new LeaderElector({ store, identity: "a", log, retryPeriodMs: 20 });
  const manager = new Manager({
    log,
    registry: new Registry(),
    elector,
    reconcileTimeoutMs: 60_000,
    shutdownTimeoutMs,
    maxApiOutageMs: 60_000,
  });
  const once: Watch = { subscribe: () => undefined, replay: (enqueue) => enqueue("ns/a") };
  let signal: AbortSignal | undefined;
  manager.controller({
    name: "test",
    workers: 2,
    watches: [once],
    reconciler: {
      async reconcile(_key, s) {
        signal = s;
        history.push("reconcile started");
        await reconcile(s);
        history.push("reconcile finished");
        return {};
      },
    },
  });
  return { manager, store, history, signal: () => signal };
}

describe("Manager shutdown", () => {
  it("releases the Lease only after the in-flight reconcile has finished", async () => {
    const { manager, store, history } = setUp(() => new Promise((r) => setTimeout(r, 200)), 5_000);
    await manager.start();
    await vi.waitFor(() => expect(history).toContain("reconcile started"));
    expect(store.spec?.holderIdentity).toBe("a");
    await manager.shutdown("SIGTERM");
    expect(history).toEqual(["reconcile started", "reconcile finished", "lease released"]);
    expect(manager.ready).toBe(false);
  });

  it("cancels a reconcile that outlasts the shutdown timeout and leaves the Lease to expire", async () => {
    const { manager, store, history, signal } = setUp(() => new Promise(() => undefined), 100);
    await manager.start();
    await vi.waitFor(() => expect(history).toContain("reconcile started"));
    await manager.shutdown("SIGTERM");
    expect(signal()?.aborted).toBe(true);
    expect(history).not.toContain("lease released");
    expect(store.spec?.holderIdentity).toBe("a");
  });

  it("steps down when its term ends, and leads again with a fresh queue once the lease is free", async () => {
    const { manager, store, history, signal } = setUp(
      (s) => new Promise((resolve) => s.addEventListener("abort", () => resolve())),
      500,
    );
    await manager.start();
    await vi.waitFor(() => expect(history).toContain("reconcile started"));
    const first = signal();
    // Another replica takes the lease over: this one must stop acting.
    store.spec = { ...store.spec, holderIdentity: "b", leaseDurationSeconds: 1 };
    store.version++;
    await vi.waitFor(() => expect(first?.aborted).toBe(true));
    expect(history).toEqual(["reconcile started", "reconcile finished"]);
    // b vanishes: after the lease duration, a takes over again and reconciles from scratch.
    await vi.waitFor(() => expect(history).toHaveLength(3), { timeout: 5_000 });
    expect(signal()).not.toBe(first);
    expect(signal()?.aborted).toBe(false);
    await manager.shutdown("SIGTERM");
  });
});
