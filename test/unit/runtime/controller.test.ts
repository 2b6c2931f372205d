import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { Controller, type ReconcileOutcome, type Reconciler } from "../../../src/runtime/controller.ts";
import { LeaderTerm } from "../../../src/runtime/leader.ts";
import { currentScope, throwIfCancelled, WorkCancelled } from "../../../src/runtime/scope.ts";

const log = pino({ level: "silent" });
const forever = () => new LeaderTerm(Number.POSITIVE_INFINITY, () => performance.now());

/** A reconciler whose reconciles of some keys hang until their signal aborts (or forever). */
function recorder(hangs: (key: string) => "until-aborted" | "forever" | undefined) {
  const started: string[] = [];
  const finished: string[] = [];
  const signals = new Map<string, AbortSignal>();
  let maxConcurrentPerKey = 0;
  const running = new Map<string, number>();
  const reconciler: Reconciler = {
    async reconcile(key, signal) {
      started.push(key);
      signals.set(key, signal);
      running.set(key, (running.get(key) ?? 0) + 1);
      maxConcurrentPerKey = Math.max(maxConcurrentPerKey, running.get(key) ?? 0);
      try {
        const hang = hangs(key);
        if (hang === "forever") await new Promise(() => undefined);
        if (hang === "until-aborted")
          await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
        finished.push(key);
        return {};
      } finally {
        running.set(key, (running.get(key) ?? 1) - 1);
      }
    },
  };
  return { reconciler, started, finished, signals, maxConcurrentPerKey: () => maxConcurrentPerKey };
}

describe("Controller", () => {
  it("backs a key off that reported a failure, by the queue's policy, and forgets it on success", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let calls = 0;
      const results = [{ failed: true }, { failed: true }, {}, { failed: true }];
      const controller = new Controller({
        name: "test",
        workers: 1,
        reconciler: { reconcile: async () => results[calls++] ?? {} },
        log,
        reconcileTimeoutMs: 60_000,
        backoff: { baseMs: 1000, maxMs: 60_000 },
      });
      controller.start(forever());
      controller.enqueue("ns/a");
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toBe(1);
      // First retry after 1 s (±10%), the second after 2 s.
      await vi.advanceTimersByTimeAsync(850);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(300);
      expect(calls).toBe(2);
      await vi.advanceTimersByTimeAsync(1500);
      expect(calls).toBe(2);
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls).toBe(3);
      // It succeeded: the next failure starts the backoff again at 1 s.
      controller.enqueue("ns/a");
      await vi.advanceTimersByTimeAsync(0);
      expect(calls).toBe(4);
      await vi.advanceTimersByTimeAsync(1150);
      expect(calls).toBe(5);
      controller.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it("aborts a reconcile that exceeds its time budget, frees the worker and retries the key with backoff", async () => {
    const r = recorder((key) => (key.startsWith("slow/") ? "forever" : undefined));
    const outcomes: ReconcileOutcome[] = [];
    const controller = new Controller({
      name: "test",
      workers: 2,
      reconciler: r.reconciler,
      log,
      reconcileTimeoutMs: 50,
      backoff: { baseMs: 10, maxMs: 10 },
      onReconciled: (_s, outcome) => outcomes.push(outcome),
    });
    controller.start(forever());
    controller.enqueue("slow/1");
    await vi.waitFor(() => expect(r.signals.get("slow/1")?.aborted).toBe(true));
    expect(r.signals.get("slow/1")?.reason).toBeInstanceOf(WorkCancelled);
    expect(outcomes).toContain("timeout");
    // The worker moved on: other keys are reconciled although slow/1 never returns.
    for (let i = 0; i < 5; i++) controller.enqueue(`fast/${i}`);
    await vi.waitFor(() => expect(r.finished).toHaveLength(5));
    // slow/1 was retried but never by two workers at once: it still hangs, so it stays held.
    expect(r.started.filter((k) => k === "slow/1")).toHaveLength(1);
    controller.stop();
    expect(await controller.idle(20)).toBe(false); // the abandoned reconcile never settled
  });

  it("retries a timed-out key once its abandoned reconcile has settled", async () => {
    const r = recorder((key) => (key === "ns/a" ? "until-aborted" : undefined));
    const controller = new Controller({
      name: "test",
      workers: 2,
      reconciler: r.reconciler,
      log,
      reconcileTimeoutMs: 30,
      backoff: { baseMs: 10, maxMs: 10 },
    });
    controller.start(forever());
    controller.enqueue("ns/a");
    await vi.waitFor(() => expect(r.started.filter((k) => k === "ns/a").length).toBeGreaterThanOrEqual(2));
    expect(r.maxConcurrentPerKey()).toBe(1);
    controller.stop();
    expect(await controller.idle(1000)).toBe(true);
  });

  it("starts no reconcile once its term has ended, and aborts the ones in flight", async () => {
    let now = 0;
    const term = new LeaderTerm(10_000, () => now);
    const r = recorder((key) => (key === "ns/inflight" ? "until-aborted" : undefined));
    const controller = new Controller({
      name: "test",
      workers: 1,
      reconciler: r.reconciler,
      log,
      reconcileTimeoutMs: 60_000,
    });
    controller.start(term);
    controller.enqueue("ns/inflight");
    await vi.waitFor(() => expect(r.started).toEqual(["ns/inflight"]));
    controller.enqueue("ns/next");
    now = 10_000; // the renew deadline passed; no timer has run yet
    term.refresh();
    expect(r.signals.get("ns/inflight")?.aborted).toBe(true);
    expect(await controller.idle(1000)).toBe(true);
    expect(r.started).toEqual(["ns/inflight"]);
  });

  it("runs each reconcile in a scope that refuses work once the deadline passed, before any timer runs", async () => {
    let now = 0;
    const term = new LeaderTerm(10_000, () => now);
    let refusal: unknown;
    const controller = new Controller({
      name: "test",
      workers: 1,
      log,
      reconcileTimeoutMs: 60_000,
      reconciler: {
        async reconcile(_key, signal) {
          expect(currentScope()?.signal).toBe(signal);
          throwIfCancelled(); // fine now
          now = 20_000; // frozen past the deadline (SIGSTOP), then resumed
          try {
            throwIfCancelled();
          } catch (error) {
            refusal = error;
          }
          return {};
        },
      },
    });
    controller.start(term);
    controller.enqueue("ns/a");
    await vi.waitFor(() => expect(refusal).toBeInstanceOf(WorkCancelled));
    expect(await controller.idle(1000)).toBe(true);
  });

  it("refuses work a settled reconcile left for later once its term has ended", async () => {
    let now = 0;
    const term = new LeaderTerm(10_000, () => now);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let outcome: unknown;
    let reconciled = false;
    const controller = new Controller({
      name: "test",
      workers: 1,
      log,
      reconcileTimeoutMs: 60_000,
      reconciler: {
        async reconcile() {
          // What a coalesced workload restart does: work for after the reconcile, in its scope.
          reconciled = true;
          void gate.then(() => {
            try {
              throwIfCancelled();
              outcome = "sent";
            } catch (error) {
              outcome = error;
            }
          });
          return {};
        },
      },
    });
    controller.start(term);
    controller.enqueue("ns/a");
    await vi.waitFor(() => expect(reconciled).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 10)); // the reconcile settled
    now = 20_000; // frozen past the deadline, then resumed: the deferred work runs first
    release();
    await vi.waitFor(() => expect(outcome).toBeInstanceOf(WorkCancelled));
    controller.stop();
  });
});
