/**
 * No GitOps drift from Rotor's restarts: the pod-template stamp Rotor writes is owned by its own
 * field manager, `rotor-restart`, and by nothing else, so that Argo CD (client-side or
 * server-side apply, and `ignoreDifferences: managedFieldsManagers: [rotor-restart]`) and Flux
 * (server-side apply) re-apply a user's manifest without a conflict and without removing the
 * stamp (which would restart the workload again). With Rotor as its own process.
 */
import { AppsV1Api, CustomObjectsApi, type V1ManagedFieldsEntry } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, kubectl, kubectlOk, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  getClientCredential,
  waitForReady,
} from "../../support/credentials.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";
import { podSpec, readyPods } from "../../support/workloads.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const apps = () => kubeConfig().makeApiClient(AppsV1Api);

/** What Rotor's field manager owns in a workload it restarted: the two annotations, nothing else. */
const STAMP = {
  "f:spec": {
    "f:template": {
      "f:metadata": { "f:annotations": { "f:rotor.dev/restarted-at": {}, "f:rotor.dev/secret-id": {} } },
    },
  },
};

beforeAll(async () => {
  ns = await testNamespace("fieldmgr");
  rotor = await startRotor(["--restart-window=1s", "--consumer-resync=3s"]);
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

/** A user's Deployment as it is in Git: no Rotor annotation anywhere. */
function manifest(name: string, secret: string): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns.name, labels: { team: "payments" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels, annotations: { "team.example/owner": "payments" } },
        spec: podSpec([secret]),
      },
    },
  });
}

const managers = (entries: V1ManagedFieldsEntry[] | undefined) =>
  (entries ?? []).map((e) => `${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ""}`).sort();
const owned = (entries: V1ManagedFieldsEntry[] | undefined, manager: string) =>
  (entries ?? []).filter((e) => e.manager === manager && !e.subresource).map((e) => e.fieldsV1);

async function deployment(name: string) {
  return apps().readNamespacedDeployment({ namespace: ns.name, name });
}

/** Applies a manifest as a GitOps tool would; returns kubectl's result (code, stderr). */
function apply(text: string, how: { serverSide: boolean; manager: string; force?: boolean }) {
  return kubectl(
    [
      "apply",
      ...(how.serverSide ? ["--server-side"] : []),
      ...(how.force ? ["--force-conflicts"] : []),
      `--field-manager=${how.manager}`,
      "-f",
      "-",
    ],
    text,
  );
}

describe("a Deployment Rotor restarted", () => {
  let stamp: string;

  it("is stamped by rotor-restart alone, whether the user applied it client- or server-side", {
    timeout: 120_000,
  }, async () => {
    await createClientCredential(ns.name, "payments-api", { gracePeriod: "0s" });
    const cc = await waitForReady(ns.name, "payments-api");
    await new Promise((resolve) => setTimeout(resolve, 1100)); // pods after the switch's second
    // Argo CD syncs with client-side apply by default, or server-side (ServerSideApply=true).
    expect(
      apply(manifest("csa", "payments-api"), { serverSide: false, manager: "argocd-controller" }).code,
    ).toBe(0);
    expect(
      apply(manifest("ssa", "payments-api"), { serverSide: true, manager: "argocd-controller" }).code,
    ).toBe(0);
    await readyPods(ns.name, "csa", 2);
    await readyPods(ns.name, "ssa", 2);

    await annotate(ns.name, "payments-api", { "rotor.dev/rotate": "1" });
    const rolled = await eventually(
      "the rollover of both Deployments",
      async () => {
        const c = await getClientCredential(ns.name, "payments-api");
        return c?.status?.currentSecretId !== cc.status?.currentSecretId &&
          condition(c, "RolledOut")?.status === "True" &&
          c?.status?.consumers?.summary === "2/2"
          ? c
          : undefined;
      },
      90_000,
    );
    stamp = rolled.status?.currentSecretId as string;

    for (const name of ["csa", "ssa"]) {
      const d = await deployment(name);
      expect(d.spec?.template?.metadata?.annotations?.["rotor.dev/secret-id"]).toBe(stamp);
      console.log(`${name} managedFields: ${managers(d.metadata?.managedFields).join(", ")}`);
      expect(owned(d.metadata?.managedFields, "rotor-restart")).toEqual([STAMP]);
      const entry = d.metadata?.managedFields?.find((e) => e.manager === "rotor-restart");
      expect(entry?.operation).toBe("Apply");
      // Nothing the user's tool manages mentions the stamp.
      for (const e of d.metadata?.managedFields ?? [])
        if (e.manager !== "rotor-restart") expect(JSON.stringify(e.fieldsV1)).not.toContain("rotor.dev/");
    }
  });

  it.each([
    { tool: "Argo CD, client-side apply", name: "csa", serverSide: false, manager: "argocd-controller" },
    { tool: "Argo CD, server-side apply", name: "ssa", serverSide: true, manager: "argocd-controller" },
    { tool: "Flux, forced", name: "ssa", serverSide: true, manager: "kustomize-controller", force: true },
    { tool: "another manager, not forced", name: "ssa", serverSide: true, manager: "kustomize-controller" },
  ])("keeps its stamp and does not roll again when $tool re-applies the user's manifest", async (how) => {
    for (const name of [how.name]) {
      const before = await deployment(name);
      const result = apply(manifest(name, "payments-api"), how);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const after = await deployment(name);
      if (after.metadata?.generation !== before.metadata?.generation)
        console.log(
          `${how.tool} changed ${name}:\n${JSON.stringify(before.spec)}\n${JSON.stringify(after.spec)}\n${JSON.stringify(after.metadata?.managedFields)}`,
        );
      expect(after.spec?.template?.metadata?.annotations).toEqual({
        "team.example/owner": "payments",
        "rotor.dev/secret-id": stamp,
        "rotor.dev/restarted-at": before.spec?.template?.metadata?.annotations?.["rotor.dev/restarted-at"],
      });
      expect(after.metadata?.generation).toBe(before.metadata?.generation); // no new rollout
      expect(owned(after.metadata?.managedFields, "rotor-restart")).toEqual([STAMP]);
    }
  });

  it("conflicts, naming rotor-restart, when a manifest carries a stale stamp and is applied without force", () => {
    // A manifest copied from `kubectl get -o yaml` into Git, with the stamp of an older secret.
    const stale = JSON.parse(manifest("ssa", "payments-api"));
    stale.spec.template.metadata.annotations["rotor.dev/secret-id"] = "1";
    const result = apply(JSON.stringify(stale), { serverSide: true, manager: "argocd-controller" });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("conflict");
    expect(result.stderr).toContain('"rotor-restart"');
    expect(result.stderr).toContain("rotor.dev/secret-id");
  });

  it("loses its stamp to a forced apply of a manifest carrying a stale one (so: never commit the stamp)", async () => {
    const before = await deployment("ssa");
    const stale = JSON.parse(manifest("ssa", "payments-api"));
    stale.spec.template.metadata.annotations["rotor.dev/secret-id"] = "1";
    const result = apply(JSON.stringify(stale), {
      serverSide: true,
      manager: "kustomize-controller",
      force: true,
    });
    expect(result.code).toBe(0);
    const after = await deployment("ssa");
    expect(after.spec?.template?.metadata?.annotations?.["rotor.dev/secret-id"]).toBe("1");
    expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1); // a rollout
    expect(owned(after.metadata?.managedFields, "rotor-restart")).toEqual([
      {
        "f:spec": { "f:template": { "f:metadata": { "f:annotations": { "f:rotor.dev/restarted-at": {} } } } },
      },
    ]);
  });
});

describe("an Argo Rollout Rotor restarted", () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "rollouts.argoproj.io" },
    spec: {
      group: "argoproj.io",
      scope: "Namespaced",
      names: { kind: "Rollout", plural: "rollouts", singular: "rollout", listKind: "RolloutList" },
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  };
  afterAll(() => {
    kubectl(["delete", "crd", "rollouts.argoproj.io", "--ignore-not-found", "--wait=false"]);
  });

  it("has spec.restartAt and its stamp owned by rotor-restart", { timeout: 120_000 }, async () => {
    // Argo Rollouts' own controller does not run here: its ReplicaSet is made by hand, as it would.
    const existing = kubectl(["get", "crd", "rollouts.argoproj.io"]).code === 0;
    if (!existing) kubectlOk(["apply", "--server-side", "-f", "-"], JSON.stringify(crd));
    kubectlOk(["wait", "--for=condition=Established", "crd/rollouts.argoproj.io", "--timeout=30s"]);
    await createClientCredential(ns.name, "canary-credentials", { gracePeriod: "0s" });
    await waitForReady(ns.name, "canary-credentials");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const labels = { app: "canary" };
    const template = { metadata: { labels }, spec: podSpec(["canary-credentials"]) };
    kubectlOk(
      ["apply", "--server-side", "--field-manager=argocd-controller", "-f", "-"],
      JSON.stringify({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Rollout",
        metadata: { name: "canary", namespace: ns.name },
        spec: { replicas: 1, selector: { matchLabels: labels }, template },
      }),
    );
    const rollout = (await kubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: "argoproj.io",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "rollouts",
      name: "canary",
    })) as { metadata: { uid: string } };
    await apps().createNamespacedReplicaSet({
      namespace: ns.name,
      body: {
        metadata: {
          name: "canary-1",
          labels,
          ownerReferences: [
            {
              apiVersion: "argoproj.io/v1alpha1",
              kind: "Rollout",
              name: "canary",
              uid: rollout.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: { replicas: 1, selector: { matchLabels: labels }, template },
      },
    });
    await readyPods(ns.name, "canary", 1);

    await annotate(ns.name, "canary-credentials", { "rotor.dev/rotate": "1" });
    const restarted = await eventually(
      "spec.restartAt",
      () => {
        const r = JSON.parse(
          kubectlOk(["-n", ns.name, "get", "rollout", "canary", "-o", "json", "--show-managed-fields"]),
        );
        return r.spec?.restartAt ? r : undefined;
      },
      60_000,
    );
    const entries = restarted.metadata.managedFields as V1ManagedFieldsEntry[];
    console.log(`Rollout managedFields: ${managers(entries).join(", ")}`);
    expect(owned(entries, "rotor-restart")).toEqual([
      // ".": the annotations map itself, which the Rollout did not have before.
      {
        "f:metadata": { "f:annotations": { ".": {}, "f:rotor.dev/secret-id": {} } },
        "f:spec": { "f:restartAt": {} },
      },
    ]);
    for (const e of entries)
      if (e.manager !== "rotor-restart") expect(JSON.stringify(e.fieldsV1)).not.toContain("restartAt");
  });
});
