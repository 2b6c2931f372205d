/**
 * The budget: never more than maxSecrets at the issuer, counting secrets Rotor did not mint,
 * none of which it ever touches.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientRecord, clientSecretName, hashSecret } from "../../src/issuers/embedded/record.ts";
import { eventually, kubeConfig, kubectlOk, testNamespace } from "../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  getClientCredential,
  issuerRecord,
  waitForReady,
} from "../support/credentials.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../support/rotor.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;

beforeAll(async () => {
  ns = await testNamespace("budget");
  rotor = await startRotor();
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

/** Watches the issuer's record of a client and remembers the most secrets it ever held. */
function trackMaximum(clientId: string) {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const record = await issuerRecord(clientId).catch(() => undefined);
      max = Math.max(max, record?.secrets.length ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return max;
    },
  };
}

describe("the secret budget", () => {
  it("counts 9 secrets Rotor did not mint, reports SlotsExhausted, and touches none of them", {
    timeout: 120_000,
  }, async () => {
    // A client that a person set up by hand at the embedded issuer, with 9 secrets in use.
    const clientId = randomUUID();
    const now = Date.now();
    const manual = Array.from({ length: 9 }, (_, i) => ({
      id: String(i + 1),
      description: `issued by hand for service ${i + 1}`,
      expiration: new Date(now + 30 * 86_400_000).toISOString(),
      createdAt: new Date(now).toISOString(),
      hash: hashSecret(randomBytes(32).toString("base64url")),
    }));
    const record: ClientRecord = {
      clientId,
      name: "legacy",
      createdAt: new Date(now).toISOString(),
      nextSecretId: 10,
      secrets: manual,
    };
    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({
        namespace: OPERATOR_NAMESPACE,
        body: {
          metadata: { name: clientSecretName(clientId), labels: { "rotor.dev/embedded-client": "true" } },
          data: { "client.json": Buffer.from(JSON.stringify(record)).toString("base64") },
        },
      });
    const tracker = trackMaximum(clientId);

    await createClientCredential(ns.name, "legacy", {
      clientId,
      maxSecrets: 10,
      gracePeriod: "0s",
      rollout: { strategy: "None" },
    });
    const issued = await waitForReady(ns.name, "legacy");
    expect(issued.status?.slots).toEqual({ used: 10, max: 10 });

    await annotate(ns.name, "legacy", { "rotor.dev/rotate": "now" });
    const exhausted = await eventually("SlotsExhausted", async () => {
      const cc = await getClientCredential(ns.name, "legacy");
      return condition(cc, "Rotating")?.reason === "SlotsExhausted" ? cc : undefined;
    });
    expect(condition(exhausted, "Ready")?.status).toBe("True"); // the current secret still works
    expect(exhausted.status?.failedAttempts).toBeGreaterThan(0);
    const events = kubectlOk([
      "get",
      "events",
      "-n",
      ns.name,
      "--field-selector",
      "reason=SlotsExhausted",
      "-o",
      "name",
    ]);
    expect(events.trim()).not.toBe("");

    // Nothing Rotor did not mint was touched.
    const during = await issuerRecord(clientId);
    for (const secret of manual) expect(during?.secrets).toContainEqual(secret);

    // A person frees a slot: the rotation goes through, and still within the budget.
    const freed = {
      ...(during as ClientRecord),
      secrets: (during as ClientRecord).secrets.filter((s) => s.id !== "1"),
    };
    kubectlOk([
      "patch",
      "secret",
      clientSecretName(clientId),
      "-n",
      OPERATOR_NAMESPACE,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { "client.json": Buffer.from(JSON.stringify(freed)).toString("base64") } }),
    ]);
    await annotate(ns.name, "legacy", { nudge: "1" });
    const rotated = await eventually(
      "rotated",
      async () => {
        const cc = await getClientCredential(ns.name, "legacy");
        return cc?.status?.lastRotateRequest === "now" &&
          cc.status.currentSecretId !== issued.status?.currentSecretId
          ? cc
          : undefined;
      },
      60_000,
    );
    expect(condition(rotated, "Rotating")?.status).toBe("False");
    const after = await issuerRecord(clientId);
    for (const secret of manual.slice(1)) expect(after?.secrets).toContainEqual(secret);
    expect(await tracker.stop()).toBeLessThanOrEqual(10);
  });

  it("keeps its own superseded secrets within a small budget", { timeout: 60_000 }, async () => {
    await createClientCredential(ns.name, "small", { maxSecrets: 2, rollout: { strategy: "Observe" } });
    const first = await waitForReady(ns.name, "small");
    const clientId = first.status?.clientId as string;
    const tracker = trackMaximum(clientId);
    await annotate(ns.name, "small", { "rotor.dev/rotate": "1" });
    const second = await eventually("rotated", async () => {
      const cc = await getClientCredential(ns.name, "small");
      return cc?.status?.lastRotateRequest === "1" ? cc : undefined;
    });
    // The superseded secret stays for its gracePeriod (5m by default); a third would exceed the budget.
    expect(second.status?.secrets?.map((s) => s.state).sort()).toEqual(["Current", "Superseded"]);
    await annotate(ns.name, "small", { "rotor.dev/rotate": "2" });
    await eventually("SlotsExhausted", async () => {
      const cc = await getClientCredential(ns.name, "small");
      return condition(cc, "Rotating")?.reason === "SlotsExhausted" ? cc : undefined;
    });
    expect((await issuerRecord(clientId))?.secrets).toHaveLength(2);
    expect(await tracker.stop()).toBeLessThanOrEqual(2);
  });
});
