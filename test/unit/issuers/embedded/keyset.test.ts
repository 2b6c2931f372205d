import { createPrivateKey, createPublicKey } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  encodeKeys,
  generateJwk,
  type KeyPolicy,
  type KeySet,
  planKeys,
  privateKeyProblem,
  publishedKeys,
} from "../../../../src/issuers/embedded/keyset.ts";
import { audienceProblem } from "../../../../src/issuers/embedded/server.ts";

const now = new Date("2026-11-27T10:00:00Z");
const hours = (h: number) => new Date(now.getTime() + h * 3_600_000);
const policy: KeyPolicy = { rotateAfterMs: 24 * 3_600_000, keepRetiredMs: 2 * 3_600_000 };
const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64");

/** A generator that counts, so a test can tell which keys are new. */
function generator() {
  let made = 0;
  const generate = () => {
    made++;
    return generateJwk();
  };
  return { generate, made: () => made };
}

function freshSet(): KeySet {
  return planKeys(undefined, undefined, now, policy).keys;
}

describe("planKeys", () => {
  it("makes a current and a next key when there is no Secret, and reports nothing", () => {
    const g = generator();
    const plan = planKeys(undefined, undefined, now, policy, g.generate);
    expect(plan).toMatchObject({ write: true, problems: [], rotated: false, currentFrom: "new" });
    expect(g.made()).toBe(2);
    expect(plan.keys.current.jwk.kid).not.toBe(plan.keys.next.jwk.kid);
  });

  it("keeps a healthy stored set as it is", () => {
    const keys = freshSet();
    const g = generator();
    const plan = planKeys(encodeKeys(keys), undefined, hours(1), policy, g.generate);
    expect(plan).toMatchObject({ write: false, problems: [], rotated: false });
    expect(plan.keys).toEqual(keys);
    expect(g.made()).toBe(0);
  });

  it("adopts a Secret from before key rotation (key.jwk only) as the current key and adds a next one", () => {
    const legacy = generateJwk();
    const plan = planKeys({ "key.jwk": b64(legacy) }, undefined, now, policy);
    expect(plan).toMatchObject({ write: true, problems: [], currentFrom: "stored" });
    expect(plan.keys.current).toEqual({ jwk: legacy, since: now.toISOString() });
    expect(encodeKeys(plan.keys)["key.jwk"]).toBe(b64(legacy));
  });

  it.each([
    ["not JSON", { "keys.json": b64("{nope"), "key.jwk": b64("also nope") }],
    ["an RSA key", { "key.jwk": b64({ kty: "RSA", n: "x", e: "AQAB", d: "y", kid: "k" }) }],
    ["a public key only", { "key.jwk": b64({ ...generateJwk(), d: undefined }) }],
    ["mismatched halves", { "key.jwk": b64({ ...generateJwk(), d: generateJwk().d }) }],
    ["garbage coordinates", { "key.jwk": b64({ ...generateJwk(), x: "AAAA" }) }],
    ["no key at all", {}],
  ])("replaces %s with new keys, reporting what was wrong and never the content", (_what, data) => {
    const plan = planKeys(data, undefined, now, policy);
    expect(plan.write).toBe(true);
    expect(plan.currentFrom).toBe("new");
    expect(plan.problems.length).toBeGreaterThan(0);
    for (const value of Object.values(data)) expect(plan.problems.join(" ")).not.toContain(value);
    expect(privateKeyProblem(plan.keys.current.jwk)).toBeUndefined();
  });

  it("restores the keys a replica holds when the stored ones are damaged", () => {
    const held = freshSet();
    const plan = planKeys({ "keys.json": b64("{nope"), "key.jwk": b64("nope") }, held, hours(1), policy);
    expect(plan).toMatchObject({ write: true, currentFrom: "held" });
    expect(plan.keys).toEqual(held);
  });

  it("starts over when the Secret was deleted, even if a replica holds keys", () => {
    const held = freshSet();
    const plan = planKeys(undefined, held, hours(1), policy);
    expect(plan.currentFrom).toBe("new");
    expect(publishedKeys(plan.keys).map((k) => k.kid)).not.toContain(held.current.jwk.kid);
  });

  it("keeps a usable current key when only the next one is damaged", () => {
    const keys = freshSet();
    const stored = JSON.parse(JSON.stringify(keys)) as KeySet;
    stored.next.jwk.d = "broken";
    const plan = planKeys(
      { "keys.json": b64(stored), "key.jwk": b64(keys.current.jwk) },
      undefined,
      now,
      policy,
    );
    expect(plan).toMatchObject({ write: true, currentFrom: "stored" });
    expect(plan.problems).toEqual([expect.stringContaining("next key")]);
    expect(plan.keys.current).toEqual(keys.current);
    expect(plan.keys.next.jwk.kid).not.toBe(keys.next.jwk.kid);
  });

  it("promotes next to current once both served a full period, retires the old key, makes a new next", () => {
    const keys = freshSet();
    expect(planKeys(encodeKeys(keys), undefined, hours(23), policy).rotated).toBe(false);
    const plan = planKeys(encodeKeys(keys), undefined, hours(24), policy);
    expect(plan).toMatchObject({ write: true, rotated: true, problems: [] });
    expect(plan.keys.current).toEqual({ jwk: keys.next.jwk, since: hours(24).toISOString() });
    expect(plan.keys.retired).toEqual([
      { jwk: expect.not.objectContaining({ d: expect.anything() }), retiredAt: hours(24).toISOString() },
    ]);
    expect(plan.keys.retired[0]?.jwk.kid).toBe(keys.current.jwk.kid);
    expect(publishedKeys(plan.keys)).toHaveLength(3);
  });

  it("does not promote a next key that was published only moments ago (first run after an upgrade)", () => {
    const legacy = generateJwk();
    const upgraded = planKeys({ "key.jwk": b64(legacy) }, undefined, now, policy).keys;
    // The legacy key is old, but the next key is new: both must have served a full period.
    upgraded.current.since = hours(-1000).toISOString();
    expect(planKeys(encodeKeys(upgraded), undefined, hours(1), policy).rotated).toBe(false);
    expect(planKeys(encodeKeys(upgraded), undefined, hours(24), policy).rotated).toBe(true);
  });

  it("drops a retired key once every token it signed has expired", () => {
    const rotated = planKeys(encodeKeys(freshSet()), undefined, hours(24), policy).keys;
    expect(planKeys(encodeKeys(rotated), undefined, hours(25), policy).keys.retired).toHaveLength(1);
    const later = planKeys(encodeKeys(rotated), undefined, hours(26), policy);
    expect(later).toMatchObject({ write: true });
    expect(later.keys.retired).toEqual([]);
  });

  it("never rotates with a period of 0", () => {
    const keys = freshSet();
    expect(
      planKeys(encodeKeys(keys), undefined, hours(100_000), { ...policy, rotateAfterMs: 0 }).rotated,
    ).toBe(false);
  });

  it("publishes only public keys, and they verify what the current key signs", async () => {
    const keys = freshSet();
    for (const jwk of publishedKeys(keys)) expect(jwk).not.toHaveProperty("d");
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: keys.current.jwk.kid as string })
      .sign(createPrivateKey({ key: keys.current.jwk as never, format: "jwk" }));
    const published = publishedKeys(keys).find((k) => k.kid === decodeProtectedHeader(token).kid);
    await expect(
      jwtVerify(token, createPublicKey({ key: published as never, format: "jwk" })),
    ).resolves.toBeDefined();
    expect(decodeJwt(token)).toEqual({});
  });
});

describe("audienceProblem", () => {
  it.each(["rotor", "https://api.example.com", "urn:example:resource"])("accepts %s", (aud) => {
    expect(audienceProblem(aud)).toBeUndefined();
  });
  it.each(["", "two words", "tab\there", "x".repeat(257), "naïve"])("refuses %j", (aud) => {
    expect(audienceProblem(aud)).toBeDefined();
  });
});
