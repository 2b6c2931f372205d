/**
 * Rotation by client through faults, against a real Ory Hydra whose clients live in a sqlite
 * file, with Rotor as its own process: Rotor is killed (SIGKILL) while rotations are under way,
 * and Hydra is restarted in the middle of them. Afterwards every rotate request made exactly one
 * switch, and Hydra holds no client of Rotor's but the current ones: a registration whose answer
 * was lost with the process is found through Hydra's admin API and deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../../src/runtime/backoff.ts";
import { eventually, kubectl, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  createClientCredential,
  decoded,
  getClientCredential,
  readSecret,
  waitForReady,
} from "../../support/credentials.ts";
import { type Hydra, listClients, startHydra, token } from "../../support/hydra.ts";
import { createIssuer, deleteIssuer, waitForIssuer } from "../../support/issuers.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../../support/rotor.ts";

const NAMES = ["alpha", "beta", "gamma"];
const ROUNDS = 4;

let rotor: RotorProcess;
let hydra: Hydra;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let issuer: { name: string };

beforeAll(async () => {
  hydra = await startHydra();
  ns = await testNamespace("oauth2-faults");
  issuer = { name: `${ns.name}-hydra` };
  // Lost registrations are taken for lost after the call timeout: short here.
  rotor = await startRotor(["--issuer-check-interval=5s", "--issuer-call-timeout=5s"]);
  await createIssuer(issuer, {
    oauth2: { issuerUrl: hydra.issuerUrl, hydraAdminUrl: hydra.adminUrl },
  });
  await waitForIssuer(issuer, "True", "Reachable");
});
afterAll(async () => {
  await ns?.remove();
  await deleteIssuer(issuer);
  await rotor?.stop();
  await hydra?.stop();
});

/** The client id in each target Secret, every time it changes. */
function watchTargets(): { sequences: Map<string, string[]>; stop: () => Promise<void> } {
  const sequences = new Map<string, string[]>(NAMES.map((n) => [n, []]));
  let watching = true;
  const loop = (async () => {
    while (watching) {
      for (const name of NAMES) {
        const id = decoded(await readSecret(ns.name, name).catch(() => undefined), "client_id");
        const seen = sequences.get(name) as string[];
        if (id && seen.at(-1) !== id) seen.push(id);
      }
      await sleep(200);
    }
  })();
  return {
    sequences,
    stop: async () => {
      watching = false;
      await loop;
    },
  };
}

describe("rotation by client through faults", () => {
  it("makes one switch per rotate request and leaves no client behind, through SIGKILLs and a Hydra restart", {
    timeout: 600_000,
  }, async () => {
    for (const name of NAMES)
      await createClientCredential(ns.name, name, {
        issuerRef: { kind: "ClusterCredentialIssuer", name: issuer.name },
        gracePeriod: "1s",
        rollout: { strategy: "None" },
      });
    const uids = new Map<string, string>();
    for (const name of NAMES) uids.set(name, (await waitForReady(ns.name, name, 120_000)).metadata.uid);
    const targets = watchTargets();

    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of NAMES) await annotate(ns.name, name, { "rotor.dev/rotate": String(round) });
      // Somewhere in the middle of registering, storing, verifying or switching.
      await sleep(Math.floor(Math.random() * 1500));
      await rotor.kill("SIGKILL");
      if (round === 2) await hydra.restart({ downMs: 3000, signal: "SIGKILL" });
      await rotor.restart();
      for (const name of NAMES)
        await eventually(
          `${name} to act on rotate request ${round}`,
          async () => {
            const cc = await getClientCredential(ns.name, name);
            const ready = cc?.status?.conditions?.find((c) => c.type === "Ready");
            return cc?.status?.lastRotateRequest === String(round) && ready?.status === "True"
              ? cc
              : undefined;
          },
          120_000,
        );
    }

    // Settled: the superseded clients deleted, the lost registrations found and deleted.
    const leftovers = async () => {
      const clients = await listClients(hydra.adminUrl);
      const mine = new Map<string, string[]>();
      for (const [name, uid] of uids)
        mine.set(
          name,
          clients.filter((c) => c.client_name?.includes(`(rotor:${uid}:`)).map((c) => c.client_id),
        );
      return mine;
    };
    const settled = await eventually(
      "only the current clients to remain",
      async () => {
        const mine = await leftovers();
        for (const name of NAMES) {
          const current = decoded(await readSecret(ns.name, name), "client_id");
          const held = mine.get(name) ?? [];
          if (held.length !== 1 || held[0] !== current) return undefined;
        }
        return mine;
      },
      120_000,
    ).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify([...(await leftovers())])}`);
    });
    await targets.stop();

    for (const name of NAMES) {
      const switches = targets.sequences.get(name) ?? [];
      expect(switches, `${name}: one switch per rotate request`).toHaveLength(ROUNDS + 1);
      const target = await readSecret(ns.name, name);
      const login = {
        id: decoded(target, "client_id") as string,
        secret: decoded(target, "client_secret") as string,
      };
      expect(settled.get(name)).toEqual([login.id]);
      expect((await token(hydra.publicUrl, login.id, login.secret)).status).toBe(200);
    }
    expect(rotor.restarts).toBe(ROUNDS);
    // Rotor's record of each group comes to hold the current client alone: an intent whose
    // registration the kill cut short is taken for lost after the call timeout, and dropped.
    for (const name of NAMES) {
      const group = (await getClientCredential(ns.name, name))?.status?.clientId as string;
      const entries = () => {
        const data = kubectl([
          ...["-n", OPERATOR_NAMESPACE, "get", "secret", `rotor-oauth2-${group}`],
          ...["-o", "jsonpath={.data.registrations\\.json}"],
        ]).stdout;
        const record = JSON.parse(Buffer.from(data, "base64").toString("utf8")) as {
          entries: Array<{ state: string; clientId?: string }>;
        };
        return record.entries.map((e) => [e.state, e.clientId]);
      };
      const expected = [["registered", settled.get(name)?.[0]]];
      await eventually(`${name}'s record to settle`, () =>
        JSON.stringify(entries()) === JSON.stringify(expected) ? true : undefined,
      ).catch(() => expect(entries()).toEqual(expected));
    }
  });
});
