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
