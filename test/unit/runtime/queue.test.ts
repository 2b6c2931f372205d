import { afterEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "../../../src/runtime/queue.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("dedupes a key while it is queued", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    queue.add("a");
    queue.add("b");
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe("a");
    expect(await queue.get()).toBe("b");
  });

  it("hands a key to one worker at a time and processes it again if re-added meanwhile", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    const key = await queue.get();
    queue.add("a"); // while processing
    expect(queue.length).toBe(0);
    queue.done(key as string);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe("a");
  });

  it("wakes a waiting worker", async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add("x");
    expect(await next).toBe("x");
  });

  it("retryBackedOff retries keys waiting out a backoff at once, not scheduled ones, and keeps their count", () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ backoff: { baseMs: 60_000, maxMs: 300_000 } });
    queue.addRateLimited("failed");
    queue.addRateLimited("failed");
    queue.addAfter("renewal", 60_000);
    expect(queue.length).toBe(0);
    queue.retryBackedOff();
    expect(queue.length).toBe(1);
    expect(queue.tryGet()).toBe("failed");
    expect(queue.failureCount("failed")).toBe(2);
    vi.advanceTimersByTime(60_000);
    expect(queue.tryGet()).toBe("renewal");
  });

  it("schedules with addAfter, the earliest time winning", () => {
    vi.useFakeTimers();
    const queue = new WorkQueue();
    queue.addAfter("a", 10_000);
    queue.addAfter("a", 1_000);
    queue.addAfter("a", 5_000);
    vi.advanceTimersByTime(999);
    expect(queue.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(queue.length).toBe(1);
    vi.advanceTimersByTime(20_000);
    expect(queue.length).toBe(1);
  });

  it("backs off per key, exponentially and capped, until forgotten", () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ backoff: { baseMs: 100, maxMs: 1000 } });
    const delays = Array.from({ length: 6 }, () => queue.addRateLimited("a"));
    delays.forEach((delay, i) => {
      const expected = Math.min(1000, 100 * 2 ** i);
      expect(delay).toBeGreaterThanOrEqual(expected * 0.9);
      expect(delay).toBeLessThanOrEqual(expected * 1.1);
    });
    queue.forget("a");
    expect(queue.failureCount("a")).toBe(0);
  });

  it("releases waiting workers on shutdown", async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.shutdown();
    expect(await next).toBeUndefined();
  });
});

describe("WorkQueue fairness between namespaces", () => {
  /** Takes every key the queue hands out right now (as idle workers would), without finishing them. */
  const drain = (queue: WorkQueue, workers: number) => {
    const taken: string[] = [];
    for (
      let key = queue.tryGet();
      key !== undefined;
      key = taken.length < workers ? queue.tryGet() : undefined
    )
      taken.push(key);
    return taken;
  };

  it("hands keys out round-robin over the namespaces that have keys waiting", async () => {
    const queue = new WorkQueue();
    for (let i = 1; i <= 4; i++) queue.add(`a/${i}`);
    queue.add("b/1");
    queue.add("c/1");
    queue.add("b/2");
    const order: string[] = [];
    for (let i = 0; i < 7; i++) order.push((await queue.get()) as string);
    expect(order).toEqual(["a/1", "b/1", "c/1", "a/2", "b/2", "a/3", "a/4"]);
  });

  it("gives one namespace at most its cap of keys in flight, so another namespace's key still gets a worker", async () => {
    const workers = 4;
    const queue = new WorkQueue({ maxInFlightPerGroup: workers - 1 });
    for (let i = 1; i <= 20; i++) queue.add(`hostile/${i}`);
    // Four idle workers: only three take the hostile namespace's keys (which then hang).
    expect(drain(queue, workers)).toEqual(["hostile/1", "hostile/2", "hostile/3"]);
    const fourth = queue.get();
    queue.add("other/cc");
    expect(await fourth).toBe("other/cc");
    queue.done("other/cc");
    // The fourth worker is free again, but the hostile namespace is still at its cap.
    queue.add("other/cc2");
    expect(await queue.get()).toBe("other/cc2");
    // A hostile key that finishes lets the next one in.
    queue.done("hostile/1");
    expect(await queue.get()).toBe("hostile/4");
  });

  it("counts a key against its namespace until done, even when its worker stopped waiting for it", async () => {
    const queue = new WorkQueue({ maxInFlightPerGroup: 1 });
    queue.add("a/1");
    queue.add("a/2");
    expect(await queue.get()).toBe("a/1");
    expect(drain(queue, 1)).toEqual([]);
    queue.done("a/1");
    expect(await queue.get()).toBe("a/2");
  });

  it("groups keys by the function given (an issuer's namespace, each cluster issuer alone)", async () => {
    const groupOf = (key: string) => key.split("/").slice(0, -1).join("/");
    const queue = new WorkQueue({ maxInFlightPerGroup: 1, groupOf });
    queue.add("CredentialIssuer/a/x");
    queue.add("CredentialIssuer/a/y");
    queue.add("ClusterCredentialIssuer/z");
    expect(drain(queue, 3)).toEqual(["CredentialIssuer/a/x", "ClusterCredentialIssuer/z"]);
  });

  it("in a simulation with 4 workers, 100 hung keys of one namespace never delay another namespace's keys", async () => {
    const workers = 4;
    const queue = new WorkQueue({ maxInFlightPerGroup: workers - 1 });
    const finished: string[] = [];
    const hung = new Set<string>();
    const worker = async () => {
      for (;;) {
        const key = await queue.get();
        if (key === undefined) return;
        if (key.startsWith("hostile/"))
          hung.add(key); // never done: its issuer never answers
        else {
          await new Promise((r) => setTimeout(r, 1));
          finished.push(key);
          queue.done(key);
        }
      }
    };
    const running = Array.from({ length: workers }, worker);
    for (let i = 0; i < 100; i++) queue.add(`hostile/${i}`);
    for (let i = 0; i < 10; i++) queue.add(`ns${i % 3}/cc${i}`);
    await vi.waitFor(() => expect(finished).toHaveLength(10));
    expect(hung.size).toBe(workers - 1);
    queue.shutdown();
    await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, 50))]);
  });

  it("hands out nothing after shutdown, even keys still waiting", async () => {
    const queue = new WorkQueue();
    queue.add("a/1");
    queue.shutdown();
    expect(await queue.get()).toBeUndefined();
  });
});
