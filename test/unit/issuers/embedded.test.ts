import { describe, expect, it } from "vitest";
import { addSecret, type ClientRecord, matchSecret } from "../../../src/issuers/embedded/record.ts";
import { IssuerError } from "../../../src/issuers/issuer.ts";

const now = new Date("2026-11-27T10:00:00Z");
const record = (): ClientRecord => ({
  clientId: "c",
  name: "c",
  createdAt: now.toISOString(),
  nextSecretId: 1,
  secrets: [],
});

describe("the embedded registry", () => {
  it("mints 32 random bytes, stores only their hash, and numbers secrets", () => {
    const r = record();
    const a = addSecret(r, { description: "a", expiration: new Date(now.getTime() + 60_000) }, now);
    const b = addSecret(r, { description: "b", expiration: new Date(now.getTime() + 60_000) }, now);
    expect([a.id, b.id]).toEqual(["1", "2"]);
    expect(Buffer.from(a.value, "base64url")).toHaveLength(32);
    expect(a.value).not.toBe(b.value);
    expect(JSON.stringify(r)).not.toContain(a.value);
  });

  it("accepts a current secret and refuses a wrong, revoked or expired one", () => {
    const r = record();
    const live = addSecret(r, { description: "a", expiration: new Date(now.getTime() + 60_000) }, now);
    const expired = addSecret(r, { description: "b", expiration: new Date(now.getTime() - 1) }, now);
    const revoked = addSecret(r, { description: "c", expiration: new Date(now.getTime() + 60_000) }, now);
    r.secrets = r.secrets.filter((s) => s.id !== revoked.id);
    expect(matchSecret(r, live.value, now)?.id).toBe(live.id);
    expect(matchSecret(r, expired.value, now)).toBeUndefined();
    expect(matchSecret(r, revoked.value, now)).toBeUndefined();
    expect(matchSecret(r, "wrong", now)).toBeUndefined();
  });

  it("refuses an 11th secret", () => {
    const r = record();
    for (let i = 0; i < 10; i++)
      addSecret(r, { description: "x", expiration: new Date(now.getTime() + 1000) }, now);
    expect(() => addSecret(r, { description: "x", expiration: new Date(now.getTime() + 1000) }, now)).toThrow(
      IssuerError,
    );
  });
});
