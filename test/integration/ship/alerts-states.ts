/**
 * The states the alerts are about, reached for real by a running Rotor in one namespace: Ready
 * ClientCredentials on the embedded issuer, a named CredentialIssuer and a ClusterCredentialIssuer;
 * one an hour from expiry; SlotsExhausted; RolloutTimeout (a paused Deployment); IssuerError at a
 * CredentialIssuer whose URL nothing listens on.
 */
import { randomUUID } from "node:crypto";
import { AppsV1Api } from "@kubernetes/client-node";
import { freePort } from "../../../hack/controlplane/controlplane.ts";
import { mergePatch } from "../../../src/runtime/kube.ts";
import { eventually, kubeConfig } from "../../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  getClientCredential,
  waitForReady,
  waitForReason,
} from "../../support/credentials.ts";
import { createIssuer, putSecret, waitForIssuer } from "../../support/issuers.ts";
import { createDeployment, podSpec, readyPods } from "../../support/workloads.ts";

const waitForRotating = (namespace: string, name: string, reason: string) =>
  eventually(`${name} Rotating ${reason}`, async () => {
    const cc = await getClientCredential(namespace, name);
    return condition(cc, "Rotating")?.reason === reason ? cc : undefined;
  });

/** Each state the alerts are about, reached for real. */
export async function produceStates(namespace: string, clusterIssuer: string) {
  const ns = { name: namespace };
  await putSecret(ns.name, "offline-admin", { client_id: randomUUID(), client_secret: "never-sent" });
  await createIssuer(
    { namespace: ns.name, name: "offline" },
    {
      ocs: {
        url: `http://127.0.0.1:${await freePort()}`,
        tenantId: randomUUID(),
        auth: { clientCredentials: { secretRef: { name: "offline-admin" } } },
      },
    },
  );
  await createIssuer({ namespace: ns.name, name: "builtin" }, { embedded: {} });
  await createIssuer({ name: clusterIssuer }, { embedded: {} });
  const credentials: Array<[string, Record<string, unknown>]> = [
    ["healthy", {}],
    ["short", { validity: "1h", renewBefore: "20m" }],
    ["via-builtin", { issuerRef: { kind: "CredentialIssuer", name: "builtin" } }],
    ["via-cluster", { issuerRef: { kind: "ClusterCredentialIssuer", name: clusterIssuer } }],
    ["via-offline", { issuerRef: { kind: "CredentialIssuer", name: "offline" } }],
    ["full", { maxSecrets: 2, rollout: { strategy: "Observe" }, gracePeriod: "1h" }],
    ["stuck", { rollout: { timeout: "1m" }, gracePeriod: "0s" }],
  ];
  for (const [name, spec] of credentials) await createClientCredential(ns.name, name, spec);

  // RolloutTimeout: a paused Deployment never rolls over to the new secret (1m at the least).
  await waitForReady(ns.name, "stuck");
  await new Promise((resolve) => setTimeout(resolve, 1100)); // pods start after the switch's second
  await createDeployment(ns.name, "frozen", podSpec(["stuck"], "env"), 2);
  await readyPods(ns.name, "frozen", 2);
  await kubeConfig()
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeployment(
      { namespace: ns.name, name: "frozen", body: { spec: { paused: true } } },
      mergePatch,
    );
  await annotate(ns.name, "stuck", { "rotor.dev/rotate": "1" });

  // SlotsExhausted: two slots, the superseded secret kept for its grace period, a third asked for.
  await waitForReady(ns.name, "full");
  await annotate(ns.name, "full", { "rotor.dev/rotate": "1" });
  await eventually("full rotated", async () => {
    const cc = await getClientCredential(ns.name, "full");
    return cc?.status?.secrets?.some((s) => s.state === "Superseded") ? cc : undefined;
  });
  await annotate(ns.name, "full", { "rotor.dev/rotate": "2" });
  await waitForRotating(ns.name, "full", "SlotsExhausted");

  for (const name of ["healthy", "short", "via-builtin", "via-cluster"]) await waitForReady(ns.name, name);
  await waitForIssuer({ namespace: ns.name, name: "offline" }, "False", "Unreachable");
  await waitForReason(ns.name, "via-offline", "IssuerError");
  await eventually(
    "stuck RolloutTimeout",
    async () => {
      const cc = await getClientCredential(ns.name, "stuck");
      return condition(cc, "RolledOut")?.reason === "RolloutTimeout" ? cc : undefined;
    },
    120_000,
    1000,
  );
}
