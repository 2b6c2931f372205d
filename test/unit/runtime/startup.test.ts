import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { isUnavailable } from "../../../src/runtime/kube.ts";
import { StatusError } from "../../../src/runtime/listwatch.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { whenApiAnswers } from "../../../src/runtime/startup.ts";

const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
const fetchFailed = new TypeError("fetch failed", { cause: refused });
const api = (code: number) => new ApiException(code, "", {}, {});

describe("isUnavailable: waiting may help", () => {
  it.each([
    ["a refused connection (fetch failed ← ECONNREFUSED)", fetchFailed, true],
    ["a reset connection", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
    [
      "an undici socket error",
      Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
      true,
    ],
    ["a request timeout", new DOMException("The operation timed out.", "TimeoutError"), true],
    ["429 Too Many Requests", api(429), true],
    ["503 from the API server", api(503), true],
    ["500 from a LIST", new StatusError(500, "etcdserver: request timed out"), true],
    ["403 Forbidden", api(403), false],
    ["404 Not Found", api(404), false],
    ["409 Conflict", new StatusError(409, "conflict"), false],
    ["a bad certificate file", new Error("--tls-cert-file: not a PEM certificate"), false],
  ])("%s → %s", (_what, error, expected) => {
    expect(isUnavailable(error)).toBe(expected);
  });
});

describe("whenApiAnswers", () => {
  const log = createLogger("silent");

  it("retries while the API cannot answer, and returns the first answer", async () => {
    let calls = 0;
    const value = await whenApiAnswers(
      "a step",
      async () => {
        if (++calls < 3) throw fetchFailed;
        return "done";
      },
      { deadlineMs: 60_000, log },
    );
    expect([value, calls]).toEqual(["done", 3]);
  });

  it("fails at once on an answer that waiting cannot change", async () => {
    let calls = 0;
    await expect(
      whenApiAnswers(
        "a step",
        async () => {
          calls++;
          throw api(400);
        },
        { deadlineMs: 60_000, log },
      ),
    ).rejects.toMatchObject({ code: 400 });
    expect(calls).toBe(1);
  });

  it("waits out 403 (an API server that just started, RBAC applied after Rotor)", async () => {
    let calls = 0;
    const value = await whenApiAnswers(
      "a step",
      async () => {
        if (++calls < 2) throw api(403);
        return "done";
      },
      { deadlineMs: 60_000, log },
    );
    expect([value, calls]).toEqual(["done", 2]);
  });

  it("gives up past its deadline with the last error", async () => {
    let calls = 0;
    await expect(
      whenApiAnswers(
        "a step",
        async () => {
          calls++;
          throw fetchFailed;
        },
        { deadlineMs: 1200, log },
      ),
    ).rejects.toBe(fetchFailed);
    expect(calls).toBeGreaterThan(1);
  });
});
