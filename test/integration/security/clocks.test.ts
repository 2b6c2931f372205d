/**
 * Rotor's clock is not the API server's. Pod creation times come from the API server, so the
 * switch time the rollover gate compares them with must too: here Rotor runs 90 s behind the
 * API server (faketime), and a pod created just before a switch still counts as holding the
 * old secret, however early Rotor's own clock says the switch was.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  getClientCredential,
  issuerRecord,
  waitForReady,
} from "../../support/credentials.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { podSpec } from "../../support/workloads.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const core = () => kubeConfig().makeApiClient(CoreV1Api);

beforeAll(async () => {
  ns = await testNamespace("clocks");
  // The monotonic clock stays true: only the wall clock, which Rotor shares with nobody, is off.
  process.env.FAKETIME_DONT_FAKE_MONOTONIC = "1";
  rotor = await startRotor(["--grace-period-floor=1s"], { wrapper: ["faketime", "-f", "-90s"] });
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

describe("with Rotor's clock 90 s behind the API server", () => {
  it("a pod created before the switch keeps the superseded secret until it is gone", {
    timeout: 180_000,
  }, async () => {
    await createClientCredential(ns.name, "skewed", { gracePeriod: "0s", rollout: { strategy: "Observe" } });
    const first = await waitForReady(ns.name, "skewed");
    const clientId = first.status?.clientId as string;
    const oldId = first.status?.currentSecretId as string;

    // A consumer created a few seconds before the rotation: it may hold the old secret.
    await core().createNamespacedPod({
      namespace: ns.name,
      body: { metadata: { name: "holder" }, spec: podSpec(["skewed"]) },
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await annotate(ns.name, "skewed", { "rotor.dev/rotate": "now" });
    const rotated = await eventually("the rotation", async () => {
      const cc = await getClientCredential(ns.name, "skewed");
      return cc?.status?.currentSecretId !== oldId && condition(cc, "Ready")?.status === "True"
        ? cc
        : undefined;
    });
    expect(rotated.status?.secrets?.find((s) => s.id === oldId)?.state).toBe("Superseded");

    // Well past gracePeriod: the old secret stays, because its holder is alive.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect((await issuerRecord(clientId))?.secrets.map((s) => s.id)).toContain(oldId);
    expect(condition(await getClientCredential(ns.name, "skewed"), "RolledOut")?.reason).toBe(
      "RolloutPending",
    );

    // Once the holder is gone, the old secret goes.
    await core().deleteNamespacedPod({ namespace: ns.name, name: "holder", gracePeriodSeconds: 0 });
    await eventually("the old secret revoked", async () =>
      (await issuerRecord(clientId))?.secrets.some((s) => s.id === oldId) === false ? true : undefined,
    );
  });
});
