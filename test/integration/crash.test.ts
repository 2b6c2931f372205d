/**
 * Crash safety: Rotor is killed with SIGKILL at random moments while 5 ClientCredentials rotate
 * 10 times each, and restarted each time. Afterwards no secret is orphaned, no client holds more
 * than its budget, every target Secret works, no rotation was lost or done twice, and no secret
 * value appears in Rotor's logs, in events or in status.
 */
import { type V1Secret, Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, kubectlOk, testNamespace } from "../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  decoded,
  getClientCredential,
  issuerRecord,
  readSecret,
  requestToken,
  versionSecrets,
  waitForReady,
} from "../support/credentials.ts";
import { type RotorProcess, startRotor } from "../support/rotor.ts";

const CREDENTIALS = 5;
const ROTATIONS_EACH = 10;
const MIN_KILLS = 10;

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const stopWatch: Array<() => void> = [];

beforeAll(async () => {
  ns = await testNamespace("crash");
  rotor = await startRotor(["--verify-timeout=10s"]);
});
afterAll(async () => {
  for (const stop of stopWatch) stop();
  await ns?.remove();
  await rotor?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("crash safety", () => {
  it(`keeps every invariant across ${MIN_KILLS}+ SIGKILLs during ${CREDENTIALS * ROTATIONS_EACH} rotations`, {
    timeout: 600_000,
  }, async () => {
    const names = Array.from({ length: CREDENTIALS }, (_, i) => `crash-${i}`);
    for (const name of names) {
      await createClientCredential(ns.name, name, {
        validity: "1h",
        gracePeriod: "0s",
        rollout: { strategy: "None" },
      });
    }

    // Every value the target Secrets ever held, and the sequence of secret ids each one went through.
    const values = new Set<string>();
    const idsSeen = new Map<string, string[]>();
    const request = await new Watch(kubeConfig()).watch(
      `/api/v1/namespaces/${ns.name}/secrets`,
      { labelSelector: "rotor.dev/role=target" },
      (_type: string, secret: V1Secret) => {
        const name = secret.metadata?.name as string;
        const id = secret.metadata?.annotations?.["rotor.dev/secret-id"];
        const value = decoded(secret, "client_secret");
        if (value) values.add(value);
        const ids = idsSeen.get(name) ?? [];
        if (id && ids.at(-1) !== id) ids.push(id);
        idsSeen.set(name, ids);
      },
      () => undefined,
    );
    stopWatch.push(() => request.abort());

    for (const name of names) await waitForReady(ns.name, name);

    let rotating = true;
    let kills = 0;
    const killer = (async () => {
      while (rotating || kills < MIN_KILLS) {
        await sleep(500 + Math.random() * 2500);
        await rotor.kill("SIGKILL");
        kills++;
        await rotor.restart();
      }
    })();

    const started = Date.now();
    await Promise.all(
      names.map(async (name) => {
        for (let k = 1; k <= ROTATIONS_EACH; k++) {
          await annotate(ns.name, name, { "rotor.dev/rotate": `r${k}` });
          await eventually(
            `${name} rotation r${k}`,
            async () => {
              const cc = await getClientCredential(ns.name, name);
              return cc?.status?.lastRotateRequest === `r${k}` && condition(cc, "Ready")?.status === "True"
                ? true
                : undefined;
            },
            120_000,
            200,
          );
        }
      }),
    );
    rotating = false;
    await killer;
    const seconds = (Date.now() - started) / 1000;

    // Settle: superseded secrets (grace 0s) revoked, orphans revoked, status current.
    for (const name of names) {
      await eventually(
        `${name} settled`,
        async () => {
          const cc = await getClientCredential(ns.name, name);
          const record = await issuerRecord(cc?.status?.clientId as string);
          const versions = await versionSecrets(ns.name, cc?.metadata.uid as string);
          return record?.secrets.length === 1 && versions.length === 1 && cc?.status?.secrets?.length === 1
            ? true
            : undefined;
        },
        60_000,
        250,
      );
    }

    let totalRotations = 0;
    for (const name of names) {
      const cc = await getClientCredential(ns.name, name);
      const clientId = cc?.status?.clientId as string;
      const record = await issuerRecord(clientId);
      const versions = await versionSecrets(ns.name, cc?.metadata.uid as string);
      // No orphan: every secret at the issuer has its version Secret, and the budget held.
      expect(record?.secrets.map((s) => s.id)).toEqual(
        versions.map((v) => v.metadata?.annotations?.["rotor.dev/secret-id"]),
      );
      expect(record?.secrets.length).toBeLessThanOrEqual(10);
      // The target works.
      const target = await readSecret(ns.name, name);
      const token = await requestToken(
        `${rotor.url}/oauth2/token`,
        clientId,
        decoded(target, "client_secret") as string,
      );
      expect(token.status).toBe(200);
      // Exactly one switch per rotate request: none lost, none twice.
      const ids = idsSeen.get(name) ?? [];
      expect(ids).toHaveLength(ROTATIONS_EACH + 1);
      totalRotations += ids.length - 1;
    }
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(totalRotations).toBeGreaterThanOrEqual(50);

    // No secret value anywhere it must not be.
    const events = kubectlOk(["get", "events", "-n", ns.name, "-o", "json"]);
    const statuses = kubectlOk(["get", "cc", "-n", ns.name, "-o", "json"]);
    const logs = rotor.output();
    expect(values.size).toBeGreaterThanOrEqual(totalRotations + CREDENTIALS);
    for (const value of values) {
      expect(logs.includes(value)).toBe(false);
      expect(events.includes(value)).toBe(false);
      expect(statuses.includes(value)).toBe(false);
    }
    const recovered = (what: string) => logs.split(what).length - 1;
    console.log(
      `crash safety: ${totalRotations} rotations, ${kills} SIGKILLs, ${values.size} distinct values checked, ${seconds.toFixed(1)}s; ` +
        `recovered after crashes: ${recovered("an orphan")} orphans revoked, ${recovered("never switched to")} abandoned versions revoked, ` +
        `${recovered('"TargetRestored"')} targets restored`,
    );
  });
});
