/**
 * The ClientCredential lifecycle on the real control plane, with Rotor as its own process:
 * the first mint, renewals at renewalTime, revocation after gracePeriod, drift repair,
 * SecretConflict, deletion with Revoke and Retain, and objects Rotor did not expect.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, kubectlOk, testNamespace } from "../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  decoded,
  deleteClientCredential,
  getClientCredential,
  issuerRecord,
  readSecret,
  requestToken,
  versionSecrets,
  waitForReady,
  waitForReason,
} from "../support/credentials.ts";
import { type RotorProcess, startRotor } from "../support/rotor.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const tokenUrl = () => `${rotor.url}/oauth2/token`;

beforeAll(async () => {
  ns = await testNamespace("life");
  rotor = await startRotor(["--finalizer-timeout=20s", "--verify-timeout=10s"]);
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

const ready = (name: string) => waitForReady(ns.name, name);

describe("a ClientCredential on the embedded issuer", () => {
  it("is issued, renewed at renewalTime twice, and superseded secrets are revoked after gracePeriod", {
    timeout: 300_000,
  }, async () => {
    await createClientCredential(ns.name, "cycle", {
      validity: "2m",
      renewBefore: "1m",
      gracePeriod: "10s",
      rollout: { strategy: "None" },
    });
    const first = await ready("cycle");
    const clientId = first.status?.clientId as string;
    expect(clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.metadata.finalizers).toContain("rotor.dev/finalizer");
    expect(first.status?.slots).toEqual({ used: 1, max: 10 });
    expect(Date.parse(first.status?.renewalTime as string)).toBe(
      Date.parse(first.status?.notAfter as string) - 60_000,
    );

    const seen: Array<{ id: string; value: string }> = [];
    const targetNow = async () => {
      const target = await readSecret(ns.name, "cycle");
      return {
        id: target?.metadata?.annotations?.["rotor.dev/secret-id"] as string,
        clientId: decoded(target, "client_id"),
        value: decoded(target, "client_secret") as string,
        tokenUrl: decoded(target, "token_url"),
      };
    };
    const initial = await targetNow();
    expect(initial.clientId).toBe(clientId);
    expect(initial.tokenUrl).toBe(tokenUrl());
    seen.push(initial);
    expect((await requestToken(tokenUrl(), clientId, initial.value)).status).toBe(200);

    // Two renewals, each at renewalTime (scheduled, not polled), each verified and switched.
    for (let round = 1; round <= 2; round++) {
      const previous = seen.at(-1) as { id: string };
      const next = await eventually(
        `renewal ${round}`,
        async () => {
          const t = await targetNow();
          return t.id !== previous.id ? t : undefined;
        },
        90_000,
        500,
      );
      seen.push(next);
      const token = await requestToken(tokenUrl(), clientId, next.value, round === 1 ? "basic" : "post");
      expect(token.status).toBe(200);
      expect(token.body.access_token?.split(".")).toHaveLength(3);
    }

    // Every superseded secret is revoked after the grace period, and then refused.
    for (const old of seen.slice(0, -1)) {
      await eventually(
        `secret ${old.id} revoked`,
        async () => {
          const record = await issuerRecord(clientId);
          return record && !record.secrets.some((s) => s.id === old.id) ? true : undefined;
        },
        60_000,
        500,
      );
      const refused = await requestToken(tokenUrl(), clientId, old.value);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe("invalid_client");
    }
    const cc = await getClientCredential(ns.name, "cycle");
    const versions = await versionSecrets(ns.name, cc?.metadata.uid as string);
    expect(versions.map((v) => v.metadata?.annotations?.["rotor.dev/secret-id"])).toEqual([seen.at(-1)?.id]);
    expect(versions[0]?.immutable).toBe(true);
    // Status is written right after the revocation it reports: read it once it has caught up.
    const settled = await eventually("status to list only the current secret", async () => {
      const now = await getClientCredential(ns.name, "cycle");
      return now?.status?.secrets?.length === 1 ? now : undefined;
    });
    expect(settled.status?.secrets).toEqual([
      expect.objectContaining({ id: seen.at(-1)?.id, state: "Current" }),
    ]);
  });

  it("rotates once for each new rotor.dev/rotate value", async () => {
    await createClientCredential(ns.name, "on-demand", { gracePeriod: "0s", rollout: { strategy: "None" } });
    const before = await ready("on-demand");
    await annotate(ns.name, "on-demand", { "rotor.dev/rotate": "first" });
    const after = await eventually("rotation", async () => {
      const cc = await getClientCredential(ns.name, "on-demand");
      return cc?.status?.lastRotateRequest === "first" && condition(cc, "Ready")?.status === "True"
        ? cc
        : undefined;
    });
    expect(after.status?.currentSecretId).not.toBe(before.status?.currentSecretId);
    // The same value again, and a reconcile for another reason: no second rotation.
    await annotate(ns.name, "on-demand", { "rotor.dev/rotate": "first", unrelated: "touch" });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const still = await getClientCredential(ns.name, "on-demand");
    expect(still?.status?.currentSecretId).toBe(after.status?.currentSecretId);
    const record = await issuerRecord(after.status?.clientId as string);
    expect(record?.nextSecretId).toBe(3);
  });

  it("restores a deleted or edited target Secret from its version Secret, without minting", async () => {
    await createClientCredential(ns.name, "drift", { secretName: "drift-creds" });
    const cc = await ready("drift");
    const clientId = cc.status?.clientId as string;
    const original = await readSecret(ns.name, "drift-creds");
    const mintedBefore = (await issuerRecord(clientId))?.nextSecretId;

    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .deleteNamespacedSecret({ namespace: ns.name, name: "drift-creds" });
    const restored = await eventually("restored", () => readSecret(ns.name, "drift-creds"));
    expect(restored.data).toEqual(original?.data);

    kubectlOk([
      "patch",
      "secret",
      "drift-creds",
      "-n",
      ns.name,
      "--type=merge",
      "-p",
      '{"data":{"client_secret":"dGFtcGVyZWQ="}}',
    ]);
    await eventually("repaired", async () => {
      const s = await readSecret(ns.name, "drift-creds");
      return s?.data?.client_secret === original?.data?.client_secret ? true : undefined;
    });
    // A key removed altogether (a malformed target) is put back too.
    kubectlOk([
      "patch",
      "secret",
      "drift-creds",
      "-n",
      ns.name,
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/data/client_id"}]',
    ]);
    await eventually("key restored", async () => {
      const s = await readSecret(ns.name, "drift-creds");
      return s?.data?.client_id === original?.data?.client_id ? true : undefined;
    });
    expect((await issuerRecord(clientId))?.nextSecretId).toBe(mintedBefore);
    expect((await getClientCredential(ns.name, "drift"))?.status?.currentSecretId).toBe(
      cc.status?.currentSecretId,
    );

    // A new spec.secretName: written from the version Secret, the old target removed, no mint.
    kubectlOk([
      "patch",
      "cc",
      "drift",
      "-n",
      ns.name,
      "--type=merge",
      "-p",
      '{"spec":{"secretName":"drift-moved"}}',
    ]);
    const moved = await eventually("moved", () => readSecret(ns.name, "drift-moved"));
    expect(moved.data?.client_secret).toBe(original?.data?.client_secret);
    await eventually("old target removed", async () =>
      (await readSecret(ns.name, "drift-creds")) ? undefined : true,
    );
    expect((await issuerRecord(clientId))?.nextSecretId).toBe(mintedBefore);
  });

  it("reports SecretConflict and overwrites nothing when the target Secret is not its own", async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: "someone-elses" }, stringData: { client_secret: "keep me" } },
    });
    await createClientCredential(ns.name, "conflict", { secretName: "someone-elses" });
    const cc = await waitForReason(ns.name, "conflict", "SecretConflict");
    expect(condition(cc, "Ready")?.status).toBe("False");
    expect(condition(cc, "Ready")?.message).toContain("someone-elses");
    const secret = await readSecret(ns.name, "someone-elses");
    expect(decoded(secret, "client_secret")).toBe("keep me");
    expect(secret?.metadata?.ownerReferences).toBeUndefined();
    const events = JSON.parse(kubectlOk(["get", "events", "-n", ns.name, "-o", "json"])) as {
      items: Array<{ reason: string; type: string; involvedObject: { name: string } }>;
    };
    expect(
      events.items.some(
        (e) => e.reason === "SecretConflict" && e.type === "Warning" && e.involvedObject.name === "conflict",
      ),
    ).toBe(true);
  });

  it("with deletionPolicy Revoke revokes its secrets and deletes the client it created", async () => {
    await createClientCredential(ns.name, "gone", { deletionPolicy: "Revoke" });
    const cc = await ready("gone");
    const clientId = cc.status?.clientId as string;
    const value = decoded(await readSecret(ns.name, "gone"), "client_secret") as string;
    await deleteClientCredential(ns.name, "gone");
    await eventually("deleted", async () =>
      (await getClientCredential(ns.name, "gone")) ? undefined : true,
    );
    expect(await issuerRecord(clientId)).toBeUndefined();
    expect((await requestToken(tokenUrl(), clientId, value)).status).toBe(401);
  });

  it("with deletionPolicy Retain leaves the issuer untouched and keeps the Secrets holding the value", async () => {
    await createClientCredential(ns.name, "kept", { deletionPolicy: "Retain" });
    const cc = await ready("kept");
    const clientId = cc.status?.clientId as string;
    const value = decoded(await readSecret(ns.name, "kept"), "client_secret") as string;
    await deleteClientCredential(ns.name, "kept");
    await eventually("deleted", async () =>
      (await getClientCredential(ns.name, "kept")) ? undefined : true,
    );
    expect((await issuerRecord(clientId))?.secrets).toHaveLength(1);
    expect((await requestToken(tokenUrl(), clientId, value)).status).toBe(200);
    // The garbage collector had its chance: the ClientCredential is gone, its Secrets are not.
    await new Promise((r) => setTimeout(r, 3000));
    const target = await readSecret(ns.name, "kept");
    expect(decoded(target, "client_secret")).toBe(value);
    expect(target?.metadata?.ownerReferences ?? []).toEqual([]);
    const versions = await versionSecrets(ns.name, cc.metadata.uid as string);
    expect(versions).toHaveLength(1);
    expect(versions[0]?.metadata?.ownerReferences ?? []).toEqual([]);
  });

  it("survives objects it did not expect: a status someone else wrote, a stray Secret with its label", async () => {
    await createClientCredential(ns.name, "odd", {});
    const cc = await ready("odd");
    const custom = kubeConfig().makeApiClient(CustomObjectsApi);
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: "rotor.dev",
        version: "v1alpha1",
        namespace: ns.name,
        plural: "clientcredentials",
        name: "odd",
        body: {
          status: {
            clientId: "00000000-0000-4000-8000-000000000000",
            currentSecretId: "999",
            secrets: [{ id: "999", state: "Superseded" }],
            conditions: [
              {
                type: "Ready",
                status: "False",
                reason: "Vandalised",
                message: "x",
                lastTransitionTime: "2020-01-01T00:00:00Z",
              },
            ],
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({
        namespace: ns.name,
        body: {
          metadata: {
            name: "stray",
            labels: { "app.kubernetes.io/managed-by": "rotor", "rotor.dev/role": "version" },
          },
          stringData: { junk: "x" },
        },
      });
    await annotate(ns.name, "odd", { "rotor.dev/rotate": "after-vandalism" });
    const fixed = await eventually("status repaired", async () => {
      const c = await getClientCredential(ns.name, "odd");
      return c?.status?.lastRotateRequest === "after-vandalism" && condition(c, "Ready")?.status === "True"
        ? c
        : undefined;
    });
    expect(fixed.status?.clientId).toBe(cc.status?.clientId);
    expect(fixed.status?.currentSecretId).not.toBe("999");
    expect(rotor.restarts).toBe(0);
    expect(rotor.output()).not.toMatch(/"level":60/);
  });
});
