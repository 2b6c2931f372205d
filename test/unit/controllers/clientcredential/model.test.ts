import { describe, expect, it } from "vitest";
import { ClientIdHolders } from "../../../../src/controllers/clientcredential/holders.ts";
import { selects } from "../../../../src/controllers/clientcredential/issuer-access.ts";
import { describeWithMarker, parseMarker } from "../../../../src/controllers/clientcredential/model.ts";

const UID = "11111111-1111-4111-8111-111111111111";

describe("the ownership marker", () => {
  it("round-trips", () => {
    const text = describeWithMarker("Ingest from plant A", UID, "a1b2c3", 256);
    expect(text).toBe(`Ingest from plant A (rotor:${UID}:a1b2c3)`);
    expect(parseMarker(text)).toEqual({ ownerUid: UID, mintId: "a1b2c3" });
  });

  it("shortens the user's text, never the marker, to fit the issuer's limit", () => {
    const text = describeWithMarker("x".repeat(200), UID, "a1b2c3", 100);
    expect(text).toHaveLength(100);
    expect(parseMarker(text)?.ownerUid).toBe(UID);
  });

  it("is not found in descriptions people write", () => {
    expect(parseMarker("rotated by hand (rotor)")).toBeUndefined();
  });
});

describe("client id holders", () => {
  const cc = (uid: string, name: string, created: string, clientId?: string, statusId?: string) => ({
    metadata: { uid, name, namespace: "ns", creationTimestamp: new Date(created) },
    spec: clientId ? { clientId } : {},
    status: statusId ? { clientId: statusId } : {},
  });

  it("gives a client to the oldest claimant, across namespaces and case", () => {
    const holders = new ClientIdHolders();
    holders.update(cc("a", "first", "2026-01-01T00:00:00Z", undefined, "ABC") as never, false);
    holders.update(cc("b", "second", "2026-02-01T00:00:00Z", "abc") as never, false);
    expect(
      holders.holderOther("abc", { uid: "b", createdAt: "2026-02-01T00:00:00.000Z", creator: false }),
    ).toBe("ns/first");
    expect(
      holders.holderOther("abc", { uid: "a", createdAt: "2026-01-01T00:00:00.000Z", creator: true }),
    ).toBeUndefined();
    holders.update(cc("a", "first", "2026-01-01T00:00:00Z", undefined, "ABC") as never, true);
    expect(
      holders.holderOther("abc", { uid: "b", createdAt: "2026-02-01T00:00:00.000Z", creator: false }),
    ).toBeUndefined();
  });

  it("gives a client to its creator over one that names it in the same second, whatever the uids", () => {
    for (const [creatorUid, namerUid] of [
      ["a", "b"],
      ["b", "a"],
    ] as const) {
      const holders = new ClientIdHolders();
      holders.update(cc(creatorUid, "svc", "2026-01-01T00:00:00Z", undefined, "abc") as never, false);
      holders.update(cc(namerUid, "thief", "2026-01-01T00:00:00Z", "abc") as never, false);
      const at = "2026-01-01T00:00:00.000Z";
      expect(holders.holderOther("abc", { uid: namerUid, createdAt: at, creator: false })).toBe("ns/svc");
      expect(holders.holderOther("abc", { uid: creatorUid, createdAt: at, creator: true })).toBeUndefined();
    }
  });
});

describe("client id holders and refused claimants", () => {
  const named = (uid: string, name: string, reason?: string) => ({
    metadata: { uid, name, namespace: "ns", creationTimestamp: new Date("2026-01-01T00:00:00Z") },
    spec: { clientId: "abc" },
    status: reason ? { conditions: [{ type: "Ready", status: "False", reason }] } : {},
  });
  const asB = { uid: "b", createdAt: "2026-01-01T00:00:00.000Z", creator: false };

  it("a ClientCredential its issuer refuses does not squat the client, and the others look again", () => {
    const holders = new ClientIdHolders();
    expect(holders.update(named("a", "squatter") as never, false)).toEqual([]);
    expect(holders.update(named("b", "owner") as never, false)).toEqual(["ns/squatter"]);
    expect(holders.holderOther("abc", asB)).toBe("ns/squatter");
    // Rotor refuses the squatter (IssuerNotAllowed): its claim goes, and the owner is woken.
    expect(holders.update(named("a", "squatter", "IssuerNotAllowed") as never, false)).toEqual(["ns/owner"]);
    expect(holders.holderOther("abc", asB)).toBeUndefined();
    // Nothing changed: nobody is woken.
    expect(holders.update(named("a", "squatter", "IssuerNotAllowed") as never, false)).toEqual([]);
  });
});

describe("namespace selectors", () => {
  it.each([
    [undefined, {}, true],
    [{}, { a: "1" }, true],
    [{ matchLabels: { team: "x" } }, { team: "x" }, true],
    [{ matchLabels: { team: "x" } }, { team: "y" }, false],
    [{ matchExpressions: [{ key: "env", operator: "In", values: ["prod"] }] }, { env: "prod" }, true],
    [{ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, { env: "prod" }, false],
    [{ matchExpressions: [{ key: "env", operator: "Exists" }] }, {}, false],
    [{ matchExpressions: [{ key: "env", operator: "DoesNotExist" }] }, {}, true],
  ])("%j selects %j: %s", (selector, labels, expected) => {
    expect(selects(selector, labels)).toBe(expected);
  });
});
