/** Workloads that consume a Secret, as users write them, and a record of their pods' lives. */
import { AppsV1Api, CoreV1Api, type V1Pod, type V1PodSpec, Watch } from "@kubernetes/client-node";
import { eventually, kubeConfig } from "./cluster.ts";

export type Reference = "env" | "envFrom" | "volume" | "projected";

export function podSpec(secretNames: string[], how: Reference = "env"): V1PodSpec {
  const container = {
    name: "app",
    image: "registry.example/app:1",
    ...(how === "env"
      ? {
          env: secretNames.map((name, i) => ({
            name: `CLIENT_SECRET_${i}`,
            valueFrom: { secretKeyRef: { name, key: "client_secret" } },
          })),
        }
      : {}),
    ...(how === "envFrom" ? { envFrom: secretNames.map((name) => ({ secretRef: { name } })) } : {}),
  };
  const volumes =
    how === "volume"
      ? secretNames.map((name, i) => ({ name: `creds-${i}`, secret: { secretName: name } }))
      : how === "projected"
        ? [{ name: "creds", projected: { sources: secretNames.map((name) => ({ secret: { name } })) } }]
        : undefined;
  return { containers: [container], ...(volumes ? { volumes } : {}) };
}

export async function createDeployment(
  namespace: string,
  name: string,
  spec: V1PodSpec,
  replicas = 3,
  paused = false,
) {
  const labels = { app: name };
  await kubeConfig()
    .makeApiClient(AppsV1Api)
    .createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: {
          replicas,
          paused,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: { metadata: { labels }, spec },
        },
      },
    });
}

export async function createStatefulSet(namespace: string, name: string, spec: V1PodSpec, replicas = 2) {
  const labels = { app: name };
  await kubeConfig()
    .makeApiClient(AppsV1Api)
    .createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name },
        spec: {
          replicas,
          serviceName: name,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec },
        },
      },
    });
}

export async function readyPods(namespace: string, app: string, count: number): Promise<V1Pod[]> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  return eventually(
    `${count} ready pods of ${app}`,
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items.filter(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return pods.length === count ? pods : undefined;
    },
    90_000,
  );
}

/** Watches a namespace's pods: when each appeared and when each was gone. */
export async function podTimeline(namespace: string) {
  const added = new Map<string, { at: number; pod: V1Pod }>();
  const gone = new Map<string, number>();
  const request = await new Watch(kubeConfig()).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    {},
    (type: string, pod: V1Pod) => {
      const name = pod.metadata?.name as string;
      if (type === "ADDED" && !added.has(name)) added.set(name, { at: Date.now(), pod });
      if (type === "DELETED") gone.set(name, Date.now());
    },
    () => undefined,
  );
  return {
    added,
    gone,
    live: () => [...added.keys()].filter((name) => !gone.has(name)),
    stop: () => request.abort(),
  };
}
