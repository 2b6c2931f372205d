import { describe, expect, it } from "vitest";
import { setCondition, setProgress } from "../../../src/runtime/conditions.ts";
import { scrub } from "../../../src/runtime/log.ts";

describe("setCondition", () => {
  const t1 = new Date("2026-01-01T00:00:00Z");
  const t2 = new Date("2026-01-02T00:00:00Z");

  it("moves lastTransitionTime only when the status changes", () => {
    const first = setCondition([], { type: "Ready", status: "True", reason: "Issued", message: "a" }, 1, t1);
    const same = setCondition(
      first,
      { type: "Ready", status: "True", reason: "Issued", message: "b" },
      2,
      t2,
    );
    expect(same[0]).toMatchObject({
      lastTransitionTime: t1.toISOString(),
      message: "b",
      observedGeneration: 2,
    });
    const changed = setCondition(
      same,
      { type: "Ready", status: "False", reason: "IssuerError", message: "c" },
      2,
      t2,
    );
    expect(changed[0]?.lastTransitionTime).toBe(t2.toISOString());
  });

  it("upserts by type", () => {
    const list = setCondition([], { type: "Ready", status: "True", reason: "x", message: "" }, 1, t1);
    const two = setCondition(list, { type: "Rotating", status: "False", reason: "y", message: "" }, 1, t1);
    expect(two.map((c) => c.type)).toEqual(["Ready", "Rotating"]);
  });
});

describe("scrub", () => {
  it("removes values that look like credentials and keeps names and GUIDs", () => {
    const secret = "Zk3mQ9x_Jp2vL8rT0aW5yB1cD4eF6gH7iK-nM3oP9qS";
    const text = scrub(
      `bad secret ${secret} for client 3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91 in historian-ingest-credentials-17`,
    );
    expect(text).not.toContain(secret);
    expect(text).toContain("3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91");
    expect(text).toContain("historian-ingest-credentials-17");
  });

  it.each([
    { text: "plant-a-historian-team/ingest-credentials-primary", kept: true },
    { text: "rotor-system/rotor-embedded-signing-key-secret", kept: true },
    { text: "0123456789abcdef0123456789abcdef01234567", kept: false },
    { text: "abcdefghijklmnopqrstuvwxyzabcdefgh/abcdefghijkl", kept: false },
  ])("$text is kept: $kept", ({ text, kept }) => {
    expect(scrub(`in ${text}`) === `in ${text}`).toBe(kept);
  });
});

describe("setProgress", () => {
  const t1 = new Date("2026-01-01T00:00:00Z");
  const t2 = new Date("2026-01-02T00:00:00Z");
  const ready = setCondition([], { type: "Ready", status: "True", reason: "Issued", message: "" }, 1, t1);
  const types = (list: { type: string; status: string }[]) => list.map((c) => `${c.type}=${c.status}`);

  it("sets the one given True and removes the other", () => {
    const stalled = setProgress(ready, { type: "Stalled", reason: "SlotsExhausted", message: "full" }, 1, t1);
    expect(types(stalled)).toEqual(["Ready=True", "Stalled=True"]);
    const reconciling = setProgress(stalled, { type: "Reconciling", reason: "Renewing", message: "" }, 2, t2);
    expect(types(reconciling)).toEqual(["Ready=True", "Reconciling=True"]);
    expect(reconciling[1]).toMatchObject({ observedGeneration: 2, lastTransitionTime: t2.toISOString() });
  });

  it("keeps neither while neither is True, and keeps lastTransitionTime while one stays True", () => {
    const stalled = setProgress(ready, { type: "Stalled", reason: "A", message: "a" }, 1, t1);
    const still = setProgress(stalled, { type: "Stalled", reason: "B", message: "b" }, 1, t2);
    expect(still[1]).toMatchObject({ reason: "B", lastTransitionTime: t1.toISOString() });
    expect(types(setProgress(still, undefined, 1, t2))).toEqual(["Ready=True"]);
  });
});
