/**
 * Point 6 of the hostile-tenant review: failed authentications must not lock a client out.
 * Anyone who knows a client id (it is in the tenant's Secret, in logs, in tokens) sends wrong
 * secrets for it: from one address, then from many. The attacker is slowed down, yet the right
 * secret — from a workload, and from Rotor verifying a new secret during a rotation — still
 * gets a token at once, and a rotation of that client completes while the attack goes on.
 *
 * Sources are loopback addresses: Rotor verifies from 127.0.0.1, the workload sends from
 * 127.0.0.1 and 127.0.0.3, the attackers from 127.0.0.2 and 127.0.1.x.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../../src/issuers/embedded/ratelimit.ts";
import { eventually, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  decoded,
  getClientCredential,
  issuerRecord,
  readSecret,
  requestToken,
  waitForReady,
} from "../../support/credentials.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { tokenFrom } from "./endpoint-requests.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let clientId: string;
let secret: string;

beforeAll(async () => {
  ns = await testNamespace("lockout");
  rotor = await startRotor();
  await createClientCredential(ns.name, "victim", { gracePeriod: "0s", rollout: { strategy: "None" } });
  const cc = await waitForReady(ns.name, "victim");
  clientId = cc.status?.clientId as string;
  secret = decoded(await readSecret(ns.name, "victim"), "client_secret") as string;
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

const guess = (address: string, i: number) =>
  tokenFrom(rotor.url, clientId, `wrong-${address}-${i}`, address);

describe("an attacker guessing a client's secret", () => {
  it("from one address is refused after a few guesses; the right secret from elsewhere works at once", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await guess("127.0.0.2", i)).status);

    expect((await requestToken(`${rotor.url}/oauth2/token`, clientId, secret)).status).toBe(200);
    expect((await tokenFrom(rotor.url, clientId, secret, "127.0.0.3")).status).toBe(200);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(50).fill(429));
    // The attacking address itself waits, even with the right secret: it guessed wrong.
    expect((await tokenFrom(rotor.url, clientId, secret, "127.0.0.2")).status).toBe(429);
  });

  it("from many addresses gets one guess per address past the client's ceiling; clean addresses still work", async () => {
    // Twenty addresses, nine guesses each: none reaches its own limit, together they pass the ceiling.
    const byAddress: number[][] = [];
    for (let a = 1; a <= 20; a++) {
      const statuses: number[] = [];
      for (let i = 0; i < 9; i++) statuses.push((await guess(`127.0.1.${a}`, i)).status);
      byAddress.push(statuses);
    }
    // Every address was checked at least once; past the ceiling, a new address gets one guess.
    for (const statuses of byAddress) expect(statuses[0]).toBe(401);
    expect(byAddress.at(-1)).toEqual([401, ...Array(8).fill(429)]);
    const checked = byAddress.flat().filter((s) => s === 401).length;
    expect(checked).toBeLessThanOrEqual(DEFAULT_LIMITS.perClient + byAddress.length);
    expect((await guess("127.0.1.1", 99)).status).toBe(429);

    expect((await requestToken(`${rotor.url}/oauth2/token`, clientId, secret)).status).toBe(200);
    expect((await tokenFrom(rotor.url, clientId, secret, "127.0.0.3")).status).toBe(200);
  });

  it("cannot stop a rotation of the client: Rotor's own verification is never refused", async () => {
    const before = await getClientCredential(ns.name, "victim");
    const oldId = before?.status?.currentSecretId as string;
    let attacking = true;
    let sent = 0;
    const attack = (async () => {
      for (let i = 0; attacking; i++) {
        await guess(`127.0.2.${(i % 200) + 1}`, i);
        sent++;
      }
    })();
    try {
      await eventually("the attack to be in full swing", () => (sent >= 50 ? true : undefined));
      await annotate(ns.name, "victim", { "rotor.dev/rotate": "under-attack" });
      const rotated = await eventually("rotation under attack", async () => {
        const cc = await getClientCredential(ns.name, "victim");
        return cc?.status?.lastRotateRequest === "under-attack" && condition(cc, "Ready")?.status === "True"
          ? cc
          : undefined;
      });
      const newId = rotated.status?.currentSecretId as string;
      expect(newId).not.toBe(oldId);
      const fresh = decoded(await readSecret(ns.name, "victim"), "client_secret") as string;
      expect((await requestToken(`${rotor.url}/oauth2/token`, clientId, fresh)).status).toBe(200);
      // The superseded secret is revoked (gracePeriod 0s, no consumers to wait for).
      await eventually(`secret ${oldId} revoked`, async () =>
        (await issuerRecord(clientId))?.secrets.every((s) => s.id !== oldId) ? true : undefined,
      );
      expect((await issuerRecord(clientId))?.secrets.map((s) => s.id)).toEqual([newId]);
    } finally {
      attacking = false;
      await attack;
    }
    expect(rotor.output()).not.toContain("VerificationFailed");
  });
});
