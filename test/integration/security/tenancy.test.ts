/**
 * Attacks from a tenant's own namespace on other teams' clients, and on the secrets its own
 * pods use: forged version Secrets, two ClientCredentials racing for one client, and version
 * Secrets deleted or relabelled under a live secret. Rotor runs as its own process.
 */
import { randomUUID } from "node:crypto";
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, kubectl, kubectlOk, testNamespace } from "../../support/cluster.ts";
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
  waitForGone,
  waitForReady,
} from "../../support/credentials.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";

let rotor: RotorProcess;
let attacker: Awaited<ReturnType<typeof testNamespace>>;
let victim: Awaited<ReturnType<typeof testNamespace>>;
const core = () => kubeConfig().makeApiClient(CoreV1Api);
const tokenUrl = () => `${rotor.url}/oauth2/token`;
const markerOf = (uid: string) => `(rotor:${uid}:`;

beforeAll(async () => {
  attacker = await testNamespace("attacker");
  victim = await testNamespace("victim");
  rotor = await startRotor(["--verify-timeout=10s"]);
});
afterAll(async () => {
  await attacker?.remove();
  await victim?.remove();
  await rotor?.stop();
});

/** A Secret the tenant writes itself, dressed as a version Secret of its own ClientCredential. */
function forgedVersion(
  namespace: string,
  name: string,
  ownerUid: string,
  clientId: string,
  secretId: string,
) {
  return core().createNamespacedSecret({
    namespace,
    body: {
      metadata: {
        name,
        labels: {
          "rotor.dev/client-credential-uid": ownerUid,
          "rotor.dev/role": "version",
          "rotor.dev/secret-id": secretId,
          "app.kubernetes.io/managed-by": "rotor",
        },
        annotations: {
          "rotor.dev/secret-id": secretId,
          "rotor.dev/client-id": clientId,
          "rotor.dev/not-after": "2099-01-01T00:00:00Z",
          "rotor.dev/created-at": "2000-01-01T00:00:00Z",
          "rotor.dev/activated-at": "2000-01-01T00:00:00Z",
        },
      },
      data: { client_secret: Buffer.from("guess").toString("base64") },
    },
  });
}

describe("a tenant cannot take over another team's client", () => {
  it("through a forged version Secret naming the other client", { timeout: 180_000 }, async () => {
    // The attacker's ClientCredential is the older one: on a cache's ordering, it would win.
    const mine = await createClientCredential(attacker.name, "mine", { rollout: { strategy: "None" } });
    await waitForReady(attacker.name, "mine");
    await createClientCredential(victim.name, "theirs", { rollout: { strategy: "None" } });
    const theirs = await waitForReady(victim.name, "theirs");
    const theirClient = theirs.status?.clientId as string;
    const theirValue = decoded(await readSecret(victim.name, "theirs"), "client_secret") as string;
    const before = await issuerRecord(theirClient);

    await forgedVersion(
      attacker.name,
      "mine-forged",
      mine.metadata.uid,
      theirClient,
      theirs.status?.currentSecretId as string,
    );
    await annotate(attacker.name, "mine", { "rotor.dev/rotate": "take-over" });

    // Rotor rotates the attacker's own client, reports the forgery, and ignores it.
    const after = await eventually("the attacker's rotation", async () => {
      const cc = await getClientCredential(attacker.name, "mine");
      return cc?.status?.lastRotateRequest === "take-over" && condition(cc, "Ready")?.status === "True"
        ? cc
        : undefined;
    });
    expect(after.status?.clientId).toBe((await getClientCredential(attacker.name, "mine"))?.status?.clientId);
    expect(after.status?.clientId).not.toBe(theirClient);
    expect(decoded(await readSecret(attacker.name, "mine"), "client_id")).toBe(after.status?.clientId);
    const events = kubectlOk([
      "-n",
      attacker.name,
      "get",
      "events",
      "--field-selector",
      "reason=ForeignVersionIgnored",
      "-o",
      "name",
    ]);
    expect(events.trim()).not.toBe("");

    // The victim's client: no secret minted for the attacker, none revoked, still working.
    const record = await issuerRecord(theirClient);
    expect(record?.secrets.map((s) => s.id)).toEqual(before?.secrets.map((s) => s.id));
    expect(record?.secrets.some((s) => s.description.includes(markerOf(mine.metadata.uid)))).toBe(false);
    expect((await requestToken(tokenUrl(), theirClient, theirValue)).status).toBe(200);

    // Deleting the attacker's ClientCredential leaves the victim's client alone.
    await deleteClientCredential(attacker.name, "mine");
    await waitForGone(attacker.name, "mine");
    expect((await issuerRecord(theirClient))?.secrets.length).toBe(before?.secrets.length);
    expect((await requestToken(tokenUrl(), theirClient, theirValue)).status).toBe(200);
  });

  it("by naming a client in the same second as its owner: one wins at the issuer, the other mints nothing", {
    timeout: 180_000,
  }, async () => {
    // Ten races, each two ClientCredentials in two namespaces naming one fresh client at once.
    const rounds = Array.from({ length: 10 }, (_, i) => ({ name: `race-${i}`, clientId: randomUUID() }));
    await Promise.all(
      rounds.flatMap(({ name, clientId }) => [
        createClientCredential(victim.name, name, { clientId, rollout: { strategy: "None" } }),
        createClientCredential(attacker.name, name, { clientId, rollout: { strategy: "None" } }),
      ]),
    );
    for (const { name, clientId } of rounds) {
      const [a, b] = await eventually(`the race for ${clientId} to settle`, async () => {
        const both = await Promise.all([
          getClientCredential(victim.name, name),
          getClientCredential(attacker.name, name),
        ]);
        const reasons = both.map((cc) => condition(cc, "Ready")?.reason);
        return reasons.includes("Issued") && reasons.includes("ClientIdConflict") ? both : undefined;
      });
      const winner = condition(a, "Ready")?.reason === "Issued" ? a : b;
      const loser = winner === a ? b : a;
      // Every secret the client holds is the winner's: whatever the loser minted was revoked.
      const record = await eventually(`only the winner's secrets on ${clientId}`, async () => {
        const r = await issuerRecord(clientId);
        return r?.secrets.every((s) => s.description.includes(markerOf(winner?.metadata.uid as string)))
          ? r
          : undefined;
      });
      expect(record.ownerUid).toBe(winner?.metadata.uid);
      expect(await readSecret(loser?.metadata.namespace as string, name)).toBeUndefined();
    }
  });
});

describe("a live secret is never revoked because its version Secret went missing", () => {
  for (const how of ["deleted", "relabelled"] as const) {
    it(`when the version Secret is ${how}`, { timeout: 120_000 }, async () => {
      const name = `live-${how}`;
      const cc = await createClientCredential(attacker.name, name, { rollout: { strategy: "None" } });
      const ready = await waitForReady(attacker.name, name);
      const clientId = ready.status?.clientId as string;
      const value = decoded(await readSecret(attacker.name, name), "client_secret") as string;
      const [version] = await versionSecrets(attacker.name, cc.metadata.uid);
      const versionName = version?.metadata?.name as string;
      if (how === "deleted")
        await core().deleteNamespacedSecret({ namespace: attacker.name, name: versionName });
      else
        await core().patchNamespacedSecret(
          {
            namespace: attacker.name,
            name: versionName,
            body: { metadata: { labels: { "rotor.dev/role": null } } },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );

      // Rotor writes the version again from the target Secret; the secret keeps working.
      const restored = await eventually("the version Secret restored", async () => {
        const [v] = await versionSecrets(attacker.name, cc.metadata.uid);
        return v?.metadata?.annotations?.["rotor.dev/restored-from"] === "target" ? v : undefined;
      });
      expect(decoded(restored, "client_secret")).toBe(value);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect((await issuerRecord(clientId))?.secrets.map((s) => s.id)).toContain(
        ready.status?.currentSecretId,
      );
      expect((await requestToken(tokenUrl(), clientId, value)).status).toBe(200);
      expect(condition(await getClientCredential(attacker.name, name), "Ready")?.status).toBe("True");
      expect(rotor.output()).not.toContain(value);
    });
  }
});

describe("what a team's built-in role lets it do (deploy/rbac.yaml)", () => {
  it("edit manages ClientCredentials but cannot write their status or Rotor's Secrets", {
    timeout: 60_000,
  }, async () => {
    const team = `system:serviceaccount:${attacker.name}:team`;
    kubectlOk(["-n", attacker.name, "create", "serviceaccount", "team"]);
    kubectlOk([
      "-n",
      attacker.name,
      "create",
      "rolebinding",
      "team-edit",
      "--clusterrole=edit",
      `--serviceaccount=${attacker.name}:team`,
    ]);
    const can = (args: string[]) => kubectl(["auth", "can-i", `--as=${team}`, ...args]).stdout.trim();
    // Aggregation into the built-in role takes a moment.
    await eventually("edit to include ClientCredentials", () =>
      can(["-n", attacker.name, "create", "clientcredentials.rotor.dev"]) === "yes" ? true : undefined,
    );
    expect(can(["-n", attacker.name, "patch", "clientcredentials.rotor.dev", "--subresource=status"])).toBe(
      "no",
    );
    expect(can(["-n", attacker.name, "update", "clientcredentials.rotor.dev", "--subresource=status"])).toBe(
      "no",
    );
    expect(can(["-n", "rotor-system", "get", "secrets"])).toBe("no");
    expect(can(["-n", "rotor-system", "update", "leases.coordination.k8s.io"])).toBe("no");
    expect(can(["create", "clustercredentialissuers.rotor.dev"])).toBe("no");

    // Played for real: the team's attempt to point its ClientCredential at another client.
    await createClientCredential(attacker.name, "rbac", { rollout: { strategy: "None" } });
    const forged = kubectl([
      `--as=${team}`,
      "-n",
      attacker.name,
      "patch",
      "clientcredential",
      "rbac",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { clientId: randomUUID() } }),
    ]);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toMatch(/forbidden/i);
  });
});
