import { describe, expect, it } from "vitest";
import { internAll } from "../../../src/runtime/intern.ts";

describe("interning the caches' strings", () => {
  it("keeps the values as they were, in a copy without undefined fields", () => {
    const original = { a: "x", b: ["y", { c: "z", d: 1, e: true, f: null }], g: undefined };
    const copy = internAll(original);
    expect(copy).toEqual({ a: "x", b: ["y", { c: "z", d: 1, e: true, f: null }] });
    expect(copy).not.toBe(original);
    expect(Object.keys(copy)).not.toContain("g");
  });

  it("keeps dates as dates", () => {
    const at = new Date(0);
    expect(internAll({ at }).at).toBe(at);
  });
});
