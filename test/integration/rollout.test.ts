/**
 * Rollover-gated revocation on the full control plane (scheduler, controller-manager, kwok
 * nodes), so workloads really roll: a superseded secret is revoked only once no pod that may
 * still hold it is alive.
 */
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, testNamespace } from "../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  getClientCredential,
  issuerRecord,
} from "../support/credentials.ts";
import { type RotorProcess, startRotor } from "../support/rotor.ts";
import {
  createDeployment,
  createStatefulSet,
  podSpec,
  podTimeline,
  readyPods,
} from "../support/workloads.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let elsewhere: Awaited<ReturnType<typeof testNamespace>>;
const apps = () => kubeConfig().makeApiClient(AppsV1Api);

beforeAll(async () => {
  ns = await testNamespace("rollout");
  elsewhere = await testNamespace("rollout-other");
  rotor = await startRotor(["--restart-window=3s", "--consumer-resync=3s"]);
});
afterAll(async () => {
  await rotor?.stop();
  await ns?.remove();
  await elsewhere?.remove();
});

async function readyCredential(name: string) {
  const cc = await eventually(`${name} Ready`, async () => {
    const c = await getClientCredential(ns.name, name);
    return condition(c, "Ready")?.status === "True" && c?.status?.currentSecretId ? c : undefined;
  });
  // Pod creation times have whole seconds: a pod created in the second of a switch counts as
  // old (Rotor cannot tell). Workloads in these tests start after that second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  return cc;
}

/** Polls the issuer until a secret is gone; returns when that was seen. */
async function revokedAt(clientId: string, secretId: string, timeoutMs = 120_000): Promise<number> {
  return eventually(
    `secret ${secretId} revoked`,
    async () => {
      const record = await issuerRecord(clientId);
      return record && !record.secrets.some((s) => s.id === secretId) ? Date.now() : undefined;
    },
    timeoutMs,
    100,
  );
}

describe("rollout.strategy Restart", () => {
  it("restarts a Deployment and a StatefulSet, and revokes only after the last old pod is gone", {
    timeout: 240_000,
  }, async () => {
    // A workload elsewhere that names a Secret of the same name: never Rotor's business.
    await createDeployment(elsewhere.name, "bystander", podSpec(["shared"]), 1);
    const bystanderBefore = (await readyPods(elsewhere.name, "bystander", 1)).map((p) => p.metadata?.name);

    await createClientCredential(ns.name, "shared", { gracePeriod: "5s" });
    const cc = await readyCredential("shared");
    const clientId = cc.status?.clientId as string;
    await createDeployment(ns.name, "api", podSpec(["shared"], "env"), 3);
    await createStatefulSet(ns.name, "store", podSpec(["shared"], "volume"), 2);
    const oldPods = [...(await readyPods(ns.name, "api", 3)), ...(await readyPods(ns.name, "store", 2))].map(
      (p) => p.metadata?.name as string,
    );
    const timeline = await podTimeline(ns.name);
    await eventually("consumers reported", async () => {
      const c = await getClientCredential(ns.name, "shared");
      return c?.status?.consumers?.summary === "2/2" ? true : undefined;
    });

    const oldSecret = cc.status?.currentSecretId as string;
    await annotate(ns.name, "shared", { "rotor.dev/rotate": "1" });
    const revoked = await revokedAt(clientId, oldSecret);
    timeline.stop();

    const lastGone = Math.max(...oldPods.map((name) => timeline.gone.get(name) ?? Number.POSITIVE_INFINITY));
    expect(Number.isFinite(lastGone)).toBe(true); // every old pod is gone…
    expect(revoked).toBeGreaterThan(lastGone); // …before the revocation,
    expect(revoked - lastGone).toBeGreaterThanOrEqual(5000 - 1000); // gracePeriod after it (second precision)
    console.log(
      `rollout: last old pod gone → revocation ${((revoked - lastGone) / 1000).toFixed(1)}s (gracePeriod 5s)`,
    );

    const after = await getClientCredential(ns.name, "shared");
    const newSecret = after?.status?.currentSecretId as string;
    for (const name of ["api"]) {
      const deployment = await apps().readNamespacedDeployment({ namespace: ns.name, name });
      expect(deployment.spec?.template?.metadata?.annotations?.["rotor.dev/secret-id"]).toBe(newSecret);
      // Only the stamp is Rotor's: its field manager owns nothing else in the workload.
      const mine = deployment.metadata?.managedFields?.find((f) => f.manager === "rotor-restart");
      expect(JSON.stringify(mine?.fieldsV1)).not.toContain("f:containers");
      expect(JSON.stringify(mine?.fieldsV1)).not.toContain("f:replicas");
    }
    const sts = await apps().readNamespacedStatefulSet({ namespace: ns.name, name: "store" });
    expect(sts.spec?.template?.metadata?.annotations?.["rotor.dev/secret-id"]).toBe(newSecret);
    const settled = await eventually("RolledOut", async () => {
      const c = await getClientCredential(ns.name, "shared");
      return condition(c, "RolledOut")?.status === "True" ? c : undefined;
    });
    expect(settled.status?.consumers).toMatchObject({ total: 2, updated: 2, summary: "2/2" });

    // The bystander in another namespace was not touched.
    const bystander = await apps().readNamespacedDeployment({ namespace: elsewhere.name, name: "bystander" });
    expect(bystander.spec?.template?.metadata?.annotations?.["rotor.dev/secret-id"]).toBeUndefined();
    const bystanderPods = await kubeConfig()
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: elsewhere.name });
    expect(bystanderPods.items.map((p) => p.metadata?.name)).toEqual(bystanderBefore);
  });

  it("restarts a Deployment consumed by 20 ClientCredentials rotating together a bounded number of times", {
    timeout: 180_000,
  }, async () => {
    const names = Array.from({ length: 20 }, (_, i) => `many-${i}`);
    await Promise.all(names.map((name) => createClientCredential(ns.name, name, { gracePeriod: "0s" })));
    const before = await Promise.all(names.map(readyCredential));
    await createDeployment(ns.name, "hub", podSpec(names, "envFrom"), 2);
    await readyPods(ns.name, "hub", 2);
    const stamps = new Set<string>();
    const rsBefore = (await apps().listNamespacedReplicaSet({ namespace: ns.name, labelSelector: "app=hub" }))
      .items.length;

    await Promise.all(names.map((name) => annotate(ns.name, name, { "rotor.dev/rotate": "together" })));
    await Promise.all(
      before.map((cc) =>
        revokedAt(cc.status?.clientId as string, cc.status?.currentSecretId as string, 150_000),
      ),
    );
    const deployment = await apps().readNamespacedDeployment({ namespace: ns.name, name: "hub" });
    stamps.add(deployment.spec?.template?.metadata?.annotations?.["rotor.dev/restarted-at"] ?? "");
    const restarts =
      (await apps().listNamespacedReplicaSet({ namespace: ns.name, labelSelector: "app=hub" })).items.length -
      rsBefore;
    console.log(`coalescing: 20 rotations restarted Deployment hub ${restarts} time(s)`);
    expect(restarts).toBeGreaterThanOrEqual(1);
    expect(restarts).toBeLessThanOrEqual(3);
  });
});

describe("rollout.strategy Observe", () => {
  it("restarts nothing and revokes only after the test replaced the old pods itself", {
    timeout: 120_000,
  }, async () => {
    await createClientCredential(ns.name, "watched", { gracePeriod: "0s", rollout: { strategy: "Observe" } });
    const cc = await readyCredential("watched");
    await createDeployment(ns.name, "observed", podSpec(["watched"], "projected"), 2);
    const old = await readyPods(ns.name, "observed", 2);
    await annotate(ns.name, "watched", { "rotor.dev/rotate": "1" });
    const pending = await eventually("RolloutPending", async () => {
      const c = await getClientCredential(ns.name, "watched");
      return condition(c, "RolledOut")?.reason === "RolloutPending" ? c : undefined;
    });
    expect(pending.status?.consumers).toMatchObject({
      total: 1,
      updated: 0,
      summary: "0/1",
      pending: ["Deployment/observed"],
    });
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const deployment = await apps().readNamespacedDeployment({ namespace: ns.name, name: "observed" });
    expect(deployment.spec?.template?.metadata?.annotations?.["rotor.dev/secret-id"]).toBeUndefined();
    const record = await issuerRecord(cc.status?.clientId as string);
    expect(record?.secrets.map((s) => s.id)).toContain(cc.status?.currentSecretId);

    const core = kubeConfig().makeApiClient(CoreV1Api);
    for (const pod of old)
      await core.deleteNamespacedPod({ namespace: ns.name, name: pod.metadata?.name as string });
    await revokedAt(cc.status?.clientId as string, cc.status?.currentSecretId as string, 60_000);
  });
});
