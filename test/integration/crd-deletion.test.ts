/**
 * Deleting the ClientCredential CRD deletes every ClientCredential of every team at once. Rotor
 * must not carry out their `deletionPolicy: Revoke` then: nothing is revoked, the Secrets holding
 * the values stay (the workloads keep working), and a Warning event says what remains.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installCrds } from "../../hack/controlplane/install.ts";
import { controlPlane, eventually, kubectl, kubectlOk, testNamespace } from "../support/cluster.ts";
import {
  createClientCredential,
  decoded,
  issuerRecord,
  readSecret,
  requestToken,
  versionSecrets,
  waitForReady,
} from "../support/credentials.ts";
import { type RotorProcess, startRotor } from "../support/rotor.ts";

const CRD = "clientcredentials.rotor.dev";
let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;

beforeAll(async () => {
  ns = await testNamespace("crd-delete");
  rotor = await startRotor([]);
});
afterAll(async () => {
  // Whatever happened, the next files get their CRD back.
  await installCrds(controlPlane());
  await ns?.remove();
  await rotor?.stop();
});

describe("deleting the ClientCredential CRD while Rotor runs", () => {
  it("revokes nothing, keeps the Secrets and warns", { timeout: 120_000 }, async () => {
    await createClientCredential(ns.name, "payments", { deletionPolicy: "Revoke" });
    const cc = await waitForReady(ns.name, "payments");
    const clientId = cc.status?.clientId as string;
    const value = decoded(await readSecret(ns.name, "payments"), "client_secret") as string;

    kubectlOk(["delete", "crd", CRD, "--wait=false"]);
    await eventually(
      "the CRD to go",
      async () => (kubectl(["get", "crd", CRD]).code !== 0 ? true : undefined),
      90_000,
    );

    expect((await issuerRecord(clientId))?.secrets).toHaveLength(1);
    expect((await requestToken(`${rotor.url}/oauth2/token`, clientId, value)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3000)); // the garbage collector's chance
    expect(decoded(await readSecret(ns.name, "payments"), "client_secret")).toBe(value);
    expect(await versionSecrets(ns.name, cc.metadata.uid as string)).toHaveLength(1);

    const events = JSON.parse(kubectlOk(["get", "events.events.k8s.io", "-n", ns.name, "-o", "json"])) as {
      items: Array<{ type: string; reason: string; note: string }>;
    };
    expect(events.items).toContainEqual(
      expect.objectContaining({
        type: "Warning",
        reason: "RevocationAbandoned",
        note: expect.stringMatching(/CRD is being deleted.*not carried out/),
      }),
    );
  });
});
