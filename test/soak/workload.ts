/**
 * The soak's tenants: namespaces of ClientCredentials (embedded issuer) and the Deployments on
 * kwok that consume them, each Deployment's pods referencing the target Secrets of
 * `perDeployment` credentials as environment variables (restarted by Rotor on every rotation of
 * any of them). Credentials are created evenly over one renewal period, so that their renewals
 * spread over the period as they do in a cluster that has run for a while, instead of all
 * falling in the same second.
 */
import { backoffDelay, sleep } from "../../src/runtime/backoff.ts";
import { type BenchClient, CC_API } from "../bench/scale/kube.ts";
import { PERIOD_MS, type SoakOptions, SPEC } from "./options.ts";

export const RUN_LABEL = "soak.rotor.dev/run";

export interface Tenant {
  namespace: string;
  credentials: string[];
}

/** `n` credentials split into namespaces of `perNamespace`; names unique over the run. */
export function plan(options: SoakOptions, run: string): Tenant[] {
  const tenants: Tenant[] = [];
  for (let i = 0; i < options.credentials; i++) {
    const index = Math.floor(i / options.perNamespace);
    tenants[index] ??= { namespace: `soak-${run}-${index}`, credentials: [] };
    tenants[index].credentials.push(`c-${String(i).padStart(4, "0")}`);
  }
  return tenants;
}

/** Calls `work` until it succeeds (the API server may be away for a while), for at most `forMs`. */
export async function persist<T>(what: string, work: () => Promise<T>, forMs = 180_000): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: number }).code === 409) return undefined as T; // already there
      if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
      await sleep(backoffDelay({ baseMs: 250, maxMs: 5000, jitter: "spread" }, attempt));
    }
  }
}

export async function createNamespaces(client: BenchClient, tenants: Tenant[], run: string): Promise<void> {
  for (const { namespace } of tenants)
    await persist(`namespace ${namespace}`, () =>
      client.create("/api/v1/namespaces", { metadata: { name: namespace, labels: { [RUN_LABEL]: run } } }),
    );
}

/** One Deployment (one replica, the default rolling update) per `perDeployment` credentials. */
export async function createConsumers(client: BenchClient, tenants: Tenant[], perDeployment: number) {
  let deployments = 0;
  for (const { namespace, credentials } of tenants) {
    for (let first = 0; first < credentials.length; first += perDeployment) {
      const name = `consumer-${first / perDeployment}`;
      const labels = { app: name };
      const env = credentials.slice(first, first + perDeployment).map((secret, i) => ({
        name: `CLIENT_SECRET_${i}`,
        valueFrom: { secretKeyRef: { name: secret, key: "client_secret" } },
      }));
      await persist(`deployment ${namespace}/${name}`, () =>
        client.create(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
          metadata: { name },
          spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: { containers: [{ name: "app", image: "registry.example/app:1", env }] },
            },
          },
        }),
      );
      deployments++;
    }
  }
  return deployments;
}

/** Creates every credential, evenly spread over one renewal period. */
export async function createCredentials(
  client: BenchClient,
  tenants: Tenant[],
  run: string,
  progress: (created: number) => void,
): Promise<void> {
  const all = tenants.flatMap((t) => t.credentials.map((name) => ({ namespace: t.namespace, name })));
  const started = Date.now();
  for (const [i, { namespace, name }] of all.entries()) {
    const due = started + (i * PERIOD_MS) / all.length;
    if (Date.now() < due) await sleep(due - Date.now());
    await persist(`ClientCredential ${namespace}/${name}`, () =>
      client.create(`${CC_API}/namespaces/${namespace}/clientcredentials`, {
        apiVersion: "rotor.dev/v1alpha1",
        kind: "ClientCredential",
        metadata: { name },
        spec: {
          description: `soak ${run}: consumed by a Deployment in ${namespace}`,
          ...SPEC,
          secretTemplate: { labels: { [RUN_LABEL]: run } },
        },
      }),
    );
    progress(i + 1);
  }
}

/**
 * Deletes the run's ClientCredentials while Rotor still runs (it revokes their secrets and
 * removes its finalizer), then the namespaces; a finalizer still held after `waitMs` is removed.
 */
export async function removeTenants(client: BenchClient, tenants: Tenant[], waitMs = 60_000): Promise<void> {
  for (const { namespace } of tenants)
    await persist(`delete ClientCredentials in ${namespace}`, () =>
      client.delete(`${CC_API}/namespaces/${namespace}/clientcredentials`),
    ).catch(() => undefined);
  const deadline = Date.now() + waitMs;
  for (const { namespace } of tenants) {
    const path = `${CC_API}/namespaces/${namespace}/clientcredentials`;
    for (;;) {
      const left = await client
        .get<{ items: Array<{ metadata: { name: string } }> }>(path)
        .catch(() => undefined);
      if (left?.items.length === 0) break;
      if (Date.now() > deadline) {
        for (const cc of left?.items ?? [])
          await client
            .patch(`${path}/${cc.metadata.name}`, { metadata: { finalizers: null } })
            .catch(() => undefined);
        break;
      }
      await sleep(1000);
    }
    await client.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
  }
}
