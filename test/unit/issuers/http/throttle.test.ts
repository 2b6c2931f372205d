/** The per-issuer throttle: never more requests in flight, or per second, than allowed. */
import { describe, expect, it } from "vitest";
import { Throttle } from "../../../../src/issuers/http/throttle.ts";
import { sleep } from "../../../../src/runtime/backoff.ts";

describe("Throttle", () => {
  it("never runs more tasks at once than maxConcurrent, and runs them all", async () => {
    const throttle = new Throttle({ maxConcurrent: 3, perSecond: 1000 });
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        throttle.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(5);
          running--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("starts at most perSecond tasks in any second", async () => {
    const throttle = new Throttle({ maxConcurrent: 100, perSecond: 5 });
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, () => throttle.run(async () => void starts.push(Date.now()))),
    );
    starts.sort((a, b) => a - b);
    for (let i = 5; i < starts.length; i++)
      expect((starts[i] as number) - (starts[i - 5] as number)).toBeGreaterThanOrEqual(999);
  });

  it("holds a request's place in the rate until a second after it ends", async () => {
    const throttle = new Throttle({ maxConcurrent: 10, perSecond: 2 });
    const started = Date.now();
    const starts: number[] = [];
    const slow = () =>
      throttle.run(async () => {
        starts.push(Date.now() - started);
        await sleep(300);
      });
    await Promise.all([slow(), slow(), slow()]);
    // The third waits for the first to end (300 ms) and then one second more.
    expect(starts[2]).toBeGreaterThanOrEqual(1290);
  });

  it("frees the slot of a task that failed", async () => {
    const throttle = new Throttle({ maxConcurrent: 1, perSecond: 1000 });
    await expect(throttle.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await throttle.run(async () => "next")).toBe("next");
  });
});
