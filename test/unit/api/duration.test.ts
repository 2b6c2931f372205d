import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../../src/api/duration.ts";

describe("parseDuration", () => {
  it.each([
    ["1m", 60_000],
    ["90m", 5_400_000],
    ["2160h", 2160 * 3_600_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["30s", 30_000],
    ["250ms", 250],
    ["0s", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "abc", "5", "-5m", "1d", "h", "1h 30m", "1.h"])("refuses %j", (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [59_000, "59s"],
    [60_000, "1m"],
    [5_400_000, "1h30m"],
    [2160 * 3_600_000, "2160h"],
    [3_661_000, "1h1m1s"],
  ])("%d ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
