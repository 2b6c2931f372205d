import { describe, expect, it } from "vitest";
import { backoffDelay, retryUntil, sleep } from "../../../src/runtime/backoff.ts";

describe("backoffDelay", () => {
  const policy = { baseMs: 100, maxMs: 1000 };
  it.each([
    { attempt: 0, want: 100 },
    { attempt: 1, want: 200 },
    { attempt: 3, want: 800 },
    { attempt: 4, want: 1000 },
    { attempt: 500, want: 1000 },
  ])("attempt $attempt waits $want ms", ({ attempt, want }) => {
    expect(backoffDelay(policy, attempt)).toBe(want);
  });

  it("spreads by at most a tenth, and full jitter stays within the delay", () => {
    expect(backoffDelay({ ...policy, jitter: "spread" }, 1, () => 0)).toBe(180);
    expect(backoffDelay({ ...policy, jitter: "spread" }, 1, () => 1)).toBe(220);
    expect(backoffDelay({ ...policy, jitter: "full" }, 1, () => 0.5)).toBe(100);
  });
});

describe("retryUntil", () => {
  it("returns the first defined result", async () => {
    let calls = 0;
    const result = await retryUntil(async () => (++calls === 3 ? "ok" : undefined), {
      deadlineMs: 5000,
      backoff: { baseMs: 1, maxMs: 2 },
    });
    expect({ result, calls }).toEqual({ result: "ok", calls: 3 });
  });

  it("gives up at the deadline", async () => {
    const result = await retryUntil(async () => undefined, {
      deadlineMs: 30,
      backoff: { baseMs: 10, maxMs: 10 },
    });
    expect(result).toBeUndefined();
  });
});

describe("sleep", () => {
  it("rejects at once when its signal aborts", async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort(new Error("stopped"));
    await expect(slept).rejects.toThrow("stopped");
  });
});
