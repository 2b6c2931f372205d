/**
 * Real Rotor objects in each state a GitOps tool must read, produced on the control plane with
 * Rotor as its own process, for the Argo CD health checks and kstatus (gitops-health.test.ts:
 * argocd-health.ts, kstatus.ts). `start()` sets every state going at once (the slowest, RolloutTimeout, takes
 * rollout.timeout's minimum of 1m); each getter waits for its state and returns the object as
 * `kubectl get -o json` shows it.
 */
import { createServer } from "node:net";
import { eventually, kubectl, kubectlOk, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  type ClientCredentialJson,
  condition,
  createClientCredential,
  deleteClientCredential,
  getClientCredential,
  waitForReady,
  waitForReason,
} from "../../support/credentials.ts";
import { createIssuer, deleteIssuer, putSecret, waitForIssuer } from "../../support/issuers.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { createDeployment, podSpec, readyPods } from "../../support/workloads.ts";

/** ClientCredentials with this label are outside the test's Rotor shard: it never reconciles them. */
export const UNWATCHED = "gitops.rotor.dev/unwatched";
const TENANT = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const NAMED = ["1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"];
const ADMIN = "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a";

export type KubeObject = ClientCredentialJson & {
  apiVersion: string;
  kind: string;
  metadata: { generation?: number; deletionTimestamp?: string };
  status?: ClientCredentialJson["status"] & { observedGeneration?: number };
};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class GitOpsStates {
  rotor!: RotorProcess;
  ns!: Awaited<ReturnType<typeof testNamespace>>;
  readonly prefix: string;
  readonly clusterIssuers: { ready: string; notReady: string };
  private readonly started = new Map<string, Promise<KubeObject>>();

  constructor(prefix: string) {
    this.prefix = prefix;
    this.clusterIssuers = {
      ready: `${prefix}-${process.pid}-embedded`,
      notReady: `${prefix}-${process.pid}-unusable`,
    };
  }

  /** Starts Rotor and sets every state going. */
  async start(): Promise<void> {
    this.ns = await testNamespace(this.prefix);
    this.rotor = await startRotor([`--watch-label-selector=!${UNWATCHED}`, "--consumer-resync=3s"]);
    const url = `http://127.0.0.1:${await closedPort()}`;
    await putSecret(this.ns.name, "adh-admin", { client_id: ADMIN, client_secret: "unused" });
    await createIssuer({ namespace: this.ns.name, name: "embedded" }, { embedded: {} });
    await createIssuer(
      { namespace: this.ns.name, name: "unreachable" },
      {
        ocs: {
          url,
          tenantId: TENANT,
          auth: { clientCredentials: { secretRef: { name: "adh-admin" } } },
          namedClients: [{ clientIds: NAMED }],
        },
      },
    );
    await createIssuer({ name: this.clusterIssuers.ready }, { embedded: {} });
    await createIssuer(
      { name: this.clusterIssuers.notReady },
      { ocs: { url, tenantId: TENANT, auth: { clientCredentials: { secretRef: { name: "absent" } } } } },
    );
    for (const state of [
      "fresh",
      "ready",
      "rolloverPending",
      "slotsExhausted",
      "issuerError",
      "beingDeleted",
      "staleGeneration",
    ] as const)
      this.state(state).catch(() => undefined); // awaited by the tests, which report failures
  }

  /** Leaves nothing behind: held finalizers are let go, labels removed so Rotor cleans up. */
  async stop(): Promise<void> {
    if (this.ns) {
      for (const name of ["issuer-error", "being-deleted"]) {
        kubectl(["-n", this.ns.name, "delete", "clientcredential", name, "--wait=false"]);
        kubectl([
          "-n",
          this.ns.name,
          "patch",
          "clientcredential",
          name,
          "--type=merge",
          "-p",
          '{"metadata":{"finalizers":null}}',
        ]);
      }
      kubectl(["-n", this.ns.name, "label", "clientcredential", "--all", `${UNWATCHED}-`]);
      await this.ns.remove();
    }
    await deleteIssuer({ name: this.clusterIssuers.ready });
    await deleteIssuer({ name: this.clusterIssuers.notReady });
    await this.rotor?.stop();
  }

  /** A state's object, as `kubectl get -o json` shows it (its first sighting; memoised). */
  state(name: StateName): Promise<KubeObject> {
    let found = this.started.get(name);
    if (!found) {
      found = this.produce(name);
      this.started.set(name, found);
    }
    return found;
  }

  /** The object as it is now. */
  get(kind: string, name: string, namespace: string | undefined = this.ns.name): KubeObject {
    return JSON.parse(
      kubectlOk(["get", kind, name, "-o", "json", ...(namespace ? ["-n", namespace] : [])]),
    ) as KubeObject;
  }

  async issuer(kind: "CredentialIssuer" | "ClusterCredentialIssuer", ready: boolean): Promise<KubeObject> {
    const name =
      kind === "CredentialIssuer"
        ? ready
          ? "embedded"
          : "unreachable"
        : ready
          ? this.clusterIssuers.ready
          : this.clusterIssuers.notReady;
    const namespace = kind === "CredentialIssuer" ? this.ns.name : undefined;
    await waitForIssuer(namespace ? { namespace, name } : { name }, ready ? "True" : "False");
    return this.get(kind.toLowerCase(), name, namespace);
  }

  private async produce(name: StateName): Promise<KubeObject> {
    const ns = this.ns.name;
    const cc = (n: string) => this.get("clientcredential", n);
    const until = async (what: string, n: string, test: (c: ClientCredentialJson | undefined) => boolean) => {
      await eventually(
        `${n} ${what}`,
        async () => (test(await getClientCredential(ns, n)) ? true : undefined),
        100_000,
      );
      return cc(n);
    };
    switch (name) {
      case "fresh": {
        // Outside Rotor's shard: the object as it is before any reconcile.
        kubectlOk(["apply", "-f", "-"], manifest(ns, "fresh", { labels: { [UNWATCHED]: "true" } }));
        return cc("fresh");
      }
      case "ready": {
        await createClientCredential(ns, "ready", {});
        await waitForReady(ns, "ready");
        return cc("ready");
      }
      case "rolloverPending": {
        // Observe: Rotor restarts nothing, so the consumer's old pod keeps the rollover open.
        await createClientCredential(ns, "rolling", {
          gracePeriod: "0s",
          rollout: { strategy: "Observe", timeout: "1m" },
        });
        await waitForReady(ns, "rolling");
        await pause(1100); // pods created in the second of the switch count as old
        await createDeployment(ns, "rolling-app", podSpec(["rolling"]), 1);
        await readyPods(ns, "rolling-app", 1);
        await annotate(ns, "rolling", { "rotor.dev/rotate": "1" });
        return until(
          "RolloutPending",
          "rolling",
          (c) => condition(c, "RolledOut")?.reason === "RolloutPending",
        );
      }
      case "rolloutTimeout": {
        await this.state("rolloverPending");
        return until(
          "RolloutTimeout",
          "rolling",
          (c) => condition(c, "RolledOut")?.reason === "RolloutTimeout",
        );
      }
      case "slotsExhausted": {
        // Two slots: the current secret and a superseded one held for its gracePeriod (5m).
        await createClientCredential(ns, "full", { maxSecrets: 2, rollout: { strategy: "Observe" } });
        await waitForReady(ns, "full");
        await annotate(ns, "full", { "rotor.dev/rotate": "1" });
        await until("rotated", "full", (c) => c?.status?.lastRotateRequest === "1");
        await annotate(ns, "full", { "rotor.dev/rotate": "2" });
        return until("SlotsExhausted", "full", (c) => condition(c, "Rotating")?.reason === "SlotsExhausted");
      }
      case "issuerError": {
        await createClientCredential(ns, "issuer-error", {
          issuerRef: { kind: "CredentialIssuer", name: "unreachable" },
          clientId: NAMED[0],
        });
        await waitForReason(ns, "issuer-error", "IssuerError");
        return cc("issuer-error");
      }
      case "beingDeleted": {
        // Its client is at an issuer Rotor cannot reach: the finalizer holds the deletion.
        await createClientCredential(ns, "being-deleted", {
          issuerRef: { kind: "CredentialIssuer", name: "unreachable" },
          clientId: NAMED[1],
        });
        await until("holding its finalizer", "being-deleted", (c) =>
          Boolean(c?.metadata.finalizers?.includes("rotor.dev/finalizer") && condition(c, "Ready")),
        );
        await deleteClientCredential(ns, "being-deleted");
        return until("held", "being-deleted", (c) =>
          Boolean(condition(c, "Ready")?.message.startsWith("cannot revoke before deletion")),
        );
      }
      case "staleGeneration": {
        // Ready at generation 1; then out of Rotor's shard, and its spec edited (generation 2).
        await createClientCredential(ns, "edited", {});
        await waitForReady(ns, "edited");
        kubectlOk(["-n", ns, "label", "clientcredential", "edited", `${UNWATCHED}=true`]);
        kubectlOk([
          "-n",
          ns,
          "patch",
          "clientcredential",
          "edited",
          "--type=merge",
          "-p",
          '{"spec":{"description":"edited after Rotor last looked"}}',
        ]);
        return cc("edited");
      }
    }
  }
}

export type StateName =
  | "fresh"
  | "ready"
  | "rolloverPending"
  | "rolloutTimeout"
  | "slotsExhausted"
  | "issuerError"
  | "beingDeleted"
  | "staleGeneration";

function manifest(namespace: string, name: string, metadata: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "rotor.dev/v1alpha1",
    kind: "ClientCredential",
    metadata: { name, namespace, ...metadata },
    spec: { description: `test ${name}` },
  });
}
