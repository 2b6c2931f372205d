import { describe, expect, it } from "vitest";
import { FailureLimiter, sourceAddress } from "../../../../src/issuers/embedded/ratelimit.ts";

const T = 1_000_000;
const limits = { perAddress: 3, perClient: 10, windowMs: 60_000, maxTracked: 100 };

function failMany(limiter: FailureLimiter, client: string, address: string, times: number, at = T) {
  for (let i = 0; i < times; i++) limiter.fail(client, address, at);
}

describe("FailureLimiter", () => {
  it("refuses an address that failed too often for a client, until its window ends", () => {
    const limiter = new FailureLimiter(limits);
    failMany(limiter, "c", "10.0.0.66", 3);
    expect(limiter.admit("c", "10.0.0.66", T + 10)).toEqual({
      refused: true,
      retryAfterSeconds: 60,
      why: "address",
    });
    expect(limiter.admit("c", "10.0.0.66", T + 60_000)).toEqual({ refused: false });
  });

  it("never refuses another address because one address guessed wrong", () => {
    const limiter = new FailureLimiter(limits);
    failMany(limiter, "c", "10.0.0.66", 50);
    expect(limiter.admit("c", "10.0.0.7", T)).toEqual({ refused: false });
    expect(limiter.admit("other", "10.0.0.66", T)).toEqual({ refused: false });
  });

  it("past the client's ceiling refuses every address that failed, and still checks clean ones", () => {
    const limiter = new FailureLimiter(limits);
    // Five addresses, two failures each: none reaches its own limit, together they hit the ceiling.
    for (let a = 0; a < 5; a++) failMany(limiter, "c", `10.0.1.${a}`, 2);
    for (let a = 0; a < 5; a++) expect(limiter.admit("c", `10.0.1.${a}`, T).refused).toBe(true);
    expect(limiter.admit("c", "10.0.2.1", T)).toEqual({ refused: false });
    // A new address gets one guess, then waits with the others.
    limiter.fail("c", "10.0.2.1", T);
    expect(limiter.admit("c", "10.0.2.1", T)).toMatchObject({ refused: true, why: "client" });
  });

  it("says when a failure tips an address or the client over", () => {
    const limiter = new FailureLimiter(limits);
    expect([1, 2, 3].map(() => limiter.fail("c", "a", T))).toEqual([undefined, undefined, "address"]);
    for (let a = 0; a < 6; a++) limiter.fail("c", `b${a}`, T);
    expect(limiter.fail("c", "z", T)).toBe("client");
  });

  it("forgets an address's failures when it succeeds", () => {
    const limiter = new FailureLimiter(limits);
    failMany(limiter, "c", "a", 2);
    limiter.succeed("c", "a");
    failMany(limiter, "c", "a", 2);
    expect(limiter.admit("c", "a", T)).toEqual({ refused: false });
  });

  it("keeps at most maxTracked entries under a flood of addresses, dropping the oldest", () => {
    const limiter = new FailureLimiter(limits);
    for (let i = 0; i < 10_000; i++) limiter.fail(`client-${i % 500}`, `2001:db8::${i.toString(16)}`, T);
    expect(limiter.size.addresses).toBeLessThanOrEqual(100);
    expect(limiter.size.clients).toBeLessThanOrEqual(100);
  });
});

describe("sourceAddress", () => {
  it.each([
    ["::ffff:127.0.0.2", "127.0.0.2"],
    ["10.1.2.3", "10.1.2.3"],
    ["2001:DB8::1", "2001:db8::1"],
    [undefined, "unknown"],
  ])("keys %s as %s", (remote, key) => {
    expect(sourceAddress(remote)).toBe(key);
  });
});
