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
  requestToken,
  waitForReady,
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
  await ns?.remove();
  await elsewhere?.remove();
  await rotor?.stop();
});

/** Rotor's own count of its Kubernetes API requests, from /metrics. */
async function apiRequests(): Promise<number> {
  const text = await (await fetch(`${rotor.metricsUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("rotor_kube_api_requests_total{"))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

async function readyCredential(name: string) {
  const cc = await waitForReady(ns.name, name);
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
    const requestsBefore = await apiRequests();
    await annotate(ns.name, "shared", { "rotor.dev/rotate": "1" });
    const revoked = await revokedAt(clientId, oldSecret);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the reconcile that revoked ends
    const requests = (await apiRequests()) - requestsBefore;
    timeline.stop();

    const lastGone = Math.max(...oldPods.map((name) => timeline.gone.get(name) ?? Number.POSITIVE_INFINITY));
    expect(Number.isFinite(lastGone)).toBe(true); // every old pod is gone…
    expect(revoked).toBeGreaterThan(lastGone); // …before the revocation,
    expect(revoked - lastGone).toBeGreaterThanOrEqual(5000 - 1000); // gracePeriod after it (second precision)
    console.log(
      `rollout: last old pod gone → revocation ${((revoked - lastGone) / 1000).toFixed(1)}s (gracePeriod 5s); ` +
        `${requests} Kubernetes API requests for the rotation and the rollover of 2 workloads (5 pods)`,
    );
    // Cheap by design: no polling beyond the 5 s re-check while the rollover is pending.
    expect(requests).toBeLessThan(250);

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

describe("no downtime", () => {
  it("during 5 rotations, every pod's secret is accepted until the pod is gone", {
    timeout: 300_000,
  }, async () => {
    await createClientCredential(ns.name, "steady", { gracePeriod: "2s" });
    const cc = await readyCredential("steady");
    const clientId = cc.status?.clientId as string;
    // The target Secret's values over time, from a watch.
    const history: Array<{ value: string; since: number }> = [];
    const { Watch } = await import("@kubernetes/client-node");
    const watch = await new Watch(kubeConfig()).watch(
      `/api/v1/namespaces/${ns.name}/secrets`,
      { fieldSelector: "metadata.name=steady" },
      (_type: string, secret: { data?: Record<string, string> }) => {
        const value = Buffer.from(secret.data?.client_secret ?? "", "base64").toString("utf8");
        if (value && history.at(-1)?.value !== value) history.push({ value, since: Date.now() });
      },
      () => undefined,
    );
    await eventually("history", () => (history.length > 0 ? true : undefined));
    await createDeployment(ns.name, "steady-app", podSpec(["steady"], "env"), 3);
    await readyPods(ns.name, "steady-app", 3);
    const timeline = await podTimeline(ns.name);
    const core = kubeConfig().makeApiClient(CoreV1Api);

    // A simulated pod holds the value the Secret had when it was created (whole seconds, so the
    // older value when in doubt: the harder case for Rotor).
    const held = new Map<string, string>();
    const valueAt = (created: number) =>
      [...history].reverse().find((h) => h.since <= created)?.value ?? history[0]?.value;
    let requests = 0;
    const failures: string[] = [];
    let running = true;
    const prober = (async () => {
      while (running) {
        const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=steady-app" }))
          .items;
        for (const p of pods) {
          const name = p.metadata?.name as string;
          if (!held.has(name)) {
            const created = new Date(p.metadata?.creationTimestamp ?? 0).getTime() + 999;
            held.set(name, valueAt(Math.min(created, timeline.added.get(name)?.at ?? created)) as string);
          }
          const result = await requestToken(`${rotor.url}/oauth2/token`, clientId, held.get(name) as string);
          requests++;
          if (result.status !== 200) failures.push(`${name}: ${result.status} ${result.body.error}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    let current = cc;
    for (let round = 1; round <= 5; round++) {
      const old = current.status?.currentSecretId as string;
      await annotate(ns.name, "steady", { "rotor.dev/rotate": `round-${round}` });
      await revokedAt(clientId, old, 120_000);
      current = (await getClientCredential(ns.name, "steady")) as typeof cc;
    }
    running = false;
    await prober;
    watch.abort();
    timeline.stop();
    console.log(
      `no downtime: ${requests} token requests by ${held.size} pods over 5 rotations, ${failures.length} refused`,
    );
    expect(history.length).toBeGreaterThanOrEqual(6);
    expect(requests).toBeGreaterThan(50);
    expect(failures).toEqual([]);
  });
});

describe("a rollout that does not finish", () => {
  it("keeps the secret of a paused Deployment, reports RolloutTimeout, and revokes at expiry with ConsumersOutlivedSecret", {
    timeout: 240_000,
  }, async () => {
    await createClientCredential(ns.name, "stuck", {
      validity: "2m",
      renewBefore: "30s",
      gracePeriod: "0s",
      rollout: { timeout: "1m" },
    });
    const cc = await readyCredential("stuck");
    const clientId = cc.status?.clientId as string;
    const oldSecret = cc.status?.currentSecretId as string;
    const notAfter = Date.parse(cc.status?.notAfter as string);
    await createDeployment(ns.name, "frozen", podSpec(["stuck"], "env"), 2);
    await readyPods(ns.name, "frozen", 2);
    await apps().patchNamespacedDeployment(
      { namespace: ns.name, name: "frozen", body: { spec: { paused: true } } },
      (await import("../../src/runtime/kube.ts")).mergePatch,
    );
    await annotate(ns.name, "stuck", { "rotor.dev/rotate": "1" });

    const timedOut = await eventually(
      "RolloutTimeout",
      async () => {
        const c = await getClientCredential(ns.name, "stuck");
        return condition(c, "RolledOut")?.reason === "RolloutTimeout" ? c : undefined;
      },
      100_000,
      1000,
    );
    expect(condition(timedOut, "RolledOut")?.message).toContain("Deployment/frozen");
    expect((await issuerRecord(clientId))?.secrets.map((s) => s.id)).toContain(oldSecret);
    const deployment = await apps().readNamespacedDeployment({ namespace: ns.name, name: "frozen" });
    expect(deployment.spec?.template?.metadata?.annotations?.["rotor.dev/secret-id"]).toBeUndefined();

    const revoked = await revokedAt(clientId, oldSecret, 120_000);
    expect(revoked).toBeGreaterThanOrEqual(notAfter);
    const reasons = await eventually(
      "the ConsumersOutlivedSecret event",
      async () => {
        const events = await kubeConfig()
          .makeApiClient(CoreV1Api)
          .listNamespacedEvent({ namespace: ns.name });
        const found = events.items.filter((e) => e.involvedObject?.name === "stuck").map((e) => e.reason);
        return found.includes("ConsumersOutlivedSecret") ? found : undefined;
      },
      30_000,
    );
    expect(reasons).toContain("RolloutPaused");
    expect(reasons).toContain("RolloutTimeout");
    expect(reasons).toContain("ConsumersOutlivedSecret");
  });
});
