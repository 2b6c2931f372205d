/**
 * A fault storm: 30% of the simulator's answers fail (429 with Retry-After, 500, 503, no
 * answer, a dropped connection, a change made but its answer lost) while ten ClientCredentials
 * rotate ten times each. In the end every ClientCredential is Ready, no client ever held more
 * secrets than its budget, no orphan is left and no client was created twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OcsSimulator } from "../simulator/ocs/server.ts";
import { eventually, testNamespace } from "../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  getClientCredential,
  versionSecrets,
  waitForReady,
} from "../support/credentials.ts";
import { createIssuer, putSecret, waitForIssuer } from "../support/issuers.ts";
import { type RotorProcess, startRotor } from "../support/rotor.ts";

const CREDENTIALS = 10;
const ROUNDS = 10;
const BUDGET = 3;
const RATE_LIMIT = 20;

let rotor: RotorProcess;
let sim: OcsSimulator;
let tenant: string;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const names = Array.from({ length: CREDENTIALS }, (_, i) => `storm-${i}`);

beforeAll(async () => {
  sim = await OcsSimulator.start();
  tenant = sim.addTenant();
  ns = await testNamespace("storm");
  const admin = sim.addAdminClient(tenant);
  await putSecret(ns.name, "admin", { client_id: admin.clientId, client_secret: admin.secret });
  rotor = await startRotor([
    "--issuer-request-timeout=1s",
    `--issuer-requests-per-second=${RATE_LIMIT}`,
    "--issuer-check-interval=5s",
    "--verify-timeout=20s",
  ]);
  await createIssuer(
    { namespace: ns.name, name: "tenant" },
    {
      ocs: { url: sim.url, tenantId: tenant, auth: { clientCredentials: { secretRef: { name: "admin" } } } },
    },
  );
  await waitForIssuer({ namespace: ns.name, name: "tenant" }, "True");
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
  await sim?.stop();
});

describe("the per-issuer throttle", () => {
  it("keeps a burst of 40 new ClientCredentials at the issuer's request rate", {
    timeout: 180_000,
  }, async () => {
    sim.stats.peakPerSecond = 0;
    const burst = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    for (const name of burst) {
      await createClientCredential(ns.name, name, {
        issuerRef: { kind: "CredentialIssuer", name: "tenant" },
        roleIds: [sim.memberRoleId(tenant)],
        rollout: { strategy: "None" },
      });
    }
    for (const name of burst) await waitForReady(ns.name, name);
    expect(sim.stats.peakPerSecond).toBeGreaterThan(RATE_LIMIT / 2);
    expect(sim.stats.peakPerSecond).toBeLessThanOrEqual(RATE_LIMIT);
  });
});

describe("a fault storm at the issuer", () => {
  it(`${CREDENTIALS * ROUNDS} rotations with 30% of requests failing end Ready, within budget, without orphans`, {
    timeout: 900_000,
  }, async () => {
    sim.setFaults({
      failureRate: 0.3,
      failureKinds: ["429", "500", "503", "timeout", "drop", "lostResponse"],
      retryAfterSeconds: 1,
    });
    for (const name of names) {
      await createClientCredential(ns.name, name, {
        issuerRef: { kind: "CredentialIssuer", name: "tenant" },
        roleIds: [sim.memberRoleId(tenant)],
        maxSecrets: BUDGET,
        gracePeriod: "0s",
        rollout: { strategy: "None" },
      });
    }
    for (const name of names) await eventually(`${name} Ready`, () => waitForReady(ns.name, name), 180_000);

    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of names) await annotate(ns.name, name, { "rotor.dev/rotate": String(round) });
      await eventually(
        `round ${round} of rotations`,
        async () => {
          for (const name of names) {
            const cc = await getClientCredential(ns.name, name);
            if (cc?.status?.lastRotateRequest !== String(round)) return undefined;
          }
          return true;
        },
        180_000,
        500,
      );
    }
    const { requests, injectedFailures } = sim.stats;
    console.info(`fault storm: ${injectedFailures} of ${requests} requests to the issuer failed`);
    expect(injectedFailures).toBeGreaterThan(100);

    // The storm ends; Rotor settles everything.
    sim.setFaults({ failureRate: 0 });
    const clients = new Map<string, string>();
    for (const name of names) {
      const cc = await waitForReady(ns.name, name);
      clients.set(name, cc.status?.clientId as string);
      expect(condition(cc, "Ready")?.status).toBe("True");
    }
    for (const [name, clientId] of clients) {
      const uid = (await getClientCredential(ns.name, name))?.metadata.uid as string;
      // Only the current secret remains at the issuer, and it is the one Rotor holds.
      await eventually(
        `${name}: one secret at the issuer and one version Secret`,
        async () => {
          const atIssuer = sim.secrets(tenant, clientId).map((s) => s.id);
          const held = (await versionSecrets(ns.name, uid)).map(
            (s) => s.metadata?.annotations?.["rotor.dev/secret-id"],
          );
          const current = (await getClientCredential(ns.name, name))?.status?.currentSecretId;
          return atIssuer.length === 1 && held.length === 1 && atIssuer[0] === current && held[0] === current
            ? true
            : undefined;
        },
        120_000,
      );
      expect(sim.stats.maxSecretsSeen.get(clientId) ?? 0).toBeLessThanOrEqual(BUDGET);
      expect(sim.stats.clientCreations.get(clientId)).toBe(1);
    }
    expect(sim.stats.puts).toBe(0);
  });
});
