/**
 * The local control plane is a real one: the API server reports the pinned version, RBAC and
 * service-account tokens work, and a Deployment gets Ready pods on the kwok nodes.
 */
import { AppsV1Api, AuthenticationV1Api, CoreV1Api, KubeConfig, VersionApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, testNamespace } from "../support/cluster.ts";

let ns: Awaited<ReturnType<typeof testNamespace>>;
beforeAll(async () => {
  ns = await testNamespace("plane");
});
afterAll(async () => ns.remove());

describe("the local control plane", () => {
  it("runs the pinned Kubernetes version", async () => {
    const version = await kubeConfig().makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe("v1.37.2");
  });

  it("authorizes with RBAC: a service account's token is authenticated but not allowed to read Secrets", async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: "nobody" } } });
    const token = await core.createNamespacedServiceAccountToken({
      name: "nobody",
      namespace: ns.name,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    expect(token.status?.token).toBeTruthy();

    const asNobody = new KubeConfig();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("no cluster in kubeconfig");
    asNobody.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "nobody", token: token.status?.token }],
      contexts: [{ name: "nobody", cluster: cluster.name, user: "nobody" }],
      currentContext: "nobody",
    });
    const review = await asNobody.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns.name}:nobody`);
    await expect(
      asNobody.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns.name }),
    ).rejects.toMatchObject({
      code: 403,
    });
  });

  it("schedules a Deployment's pods on the kwok nodes and makes them Ready", {
    timeout: 120_000,
  }, async () => {
    const kc = kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const labels = { app: "web" };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: "web", image: "registry.example/web:1" }] },
          },
        },
      },
    });
    const deployment = await eventually(
      "3 ready replicas",
      async () => {
        const d = await apps.readNamespacedDeployment({ name: "web", namespace: ns.name });
        return d.status?.readyReplicas === 3 ? d : undefined;
      },
      90_000,
    ).catch(async (error: Error) => {
      // Say why: unschedulable pods, tainted or NotReady nodes.
      const nodes = await core.listNode();
      const pods = await core.listNamespacedPod({ namespace: ns.name });
      const why = [
        ...nodes.items.map((n) => `${n.metadata?.name}: taints=${JSON.stringify(n.spec?.taints ?? [])}`),
        ...pods.items.map(
          (p) => `${p.metadata?.name}: ${p.status?.phase} ${JSON.stringify(p.status?.conditions ?? [])}`,
        ),
      ];
      throw new Error(`${error.message}\n${why.join("\n")}`);
    });
    expect(deployment.status?.availableReplicas).toBe(3);
    const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=web" });
    expect(pods.items).toHaveLength(3);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
      expect(pod.status?.phase).toBe("Running");
      expect(pod.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    }
  });
});
