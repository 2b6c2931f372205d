/**
 * Issue 9, point 2: a namespace that may use an OCS issuer with tenant-administrator credentials
 * must not reach clients it was not given. The attacker namespace names the administrator client
 * itself (whose id it must not even learn), a client its own CredentialIssuer does not list, and
 * a client a ClusterCredentialIssuer lists for another namespace; each is refused with
 * IssuerNotAllowed and Rotor touches none of those clients. The namespace the client is listed
 * for gets it. Rotor runs as its own process against the simulator.
 */
import { EventsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OcsSimulator } from "../../simulator/ocs/server.ts";
import { kubeConfig, kubectl, testNamespace } from "../../support/cluster.ts";
import {
  condition,
  createClientCredential,
  deleteClientCredential,
  getClientCredential,
  readSecret,
  waitForGone,
  waitForReady,
  waitForReason,
} from "../../support/credentials.ts";
import {
  createIssuer,
  deleteIssuer,
  getIssuer,
  putSecret,
  readyCondition,
  waitForIssuer,
} from "../../support/issuers.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../../support/rotor.ts";

let rotor: RotorProcess;
let sim: OcsSimulator;
let tenant: string;
let admin: { clientId: string; secret: string };
let listed: { clientId: string; secretId: string };
let unlisted: { clientId: string; secretId: string };
let attacker: Awaited<ReturnType<typeof testNamespace>>;
let owner: Awaited<ReturnType<typeof testNamespace>>;
const shared = { name: `named-clients-${process.pid}` };

/** The attacker's own CredentialIssuer, with the tenant's administrator credentials. */
const local = "adh";
/** The same, but its owner carelessly listed the administrator client too. */
const careless = "adh-careless";

const byLocal = (clientId?: string) => ({
  issuerRef: { kind: "CredentialIssuer", name: local },
  roleIds: [sim.memberRoleId(tenant)],
  rollout: { strategy: "None" },
  ...(clientId ? { clientId } : {}),
});
const ids = (clientId: string) => sim.secrets(tenant, clientId).map((s) => s.id);

beforeAll(async () => {
  sim = await OcsSimulator.start();
  tenant = sim.addTenant();
  admin = sim.addAdminClient(tenant);
  attacker = await testNamespace("attacker");
  owner = await testNamespace("owner");
  rotor = await startRotor(["--issuer-check-interval=5s", "--finalizer-timeout=5s"]);
  const ocs = (secret: string, namedClients?: unknown[]) => ({
    url: sim.url,
    tenantId: tenant,
    auth: { clientCredentials: { secretRef: { name: secret } } },
    ...(namedClients ? { namedClients } : {}),
  });
  await putSecret(attacker.name, "adh-admin", { client_id: admin.clientId, client_secret: admin.secret });
  await putSecret(OPERATOR_NAMESPACE, shared.name, {
    client_id: admin.clientId,
    client_secret: admin.secret,
  });
  await createIssuer({ namespace: attacker.name, name: local }, { ocs: ocs("adh-admin") });
  await createIssuer(
    { namespace: attacker.name, name: careless },
    { ocs: ocs("adh-admin", [{ clientIds: [admin.clientId.toUpperCase()] }]) },
  );
  // The owner's client, listed for the owner's namespace only, and a client nobody listed.
  listed = sim.addClient(tenant, { name: "owner's client" });
  unlisted = sim.addClient(tenant, { name: "someone else's client" });
  await createIssuer(shared, {
    ocs: {
      ...ocs(shared.name),
      namedClients: [{ namespaces: [owner.name], clientIds: [listed.clientId] }],
    },
  });
  await waitForIssuer({ namespace: attacker.name, name: local }, "True", "Authenticated");
  await waitForIssuer({ namespace: attacker.name, name: careless }, "True", "Authenticated");
  await waitForIssuer(shared, "True", "Authenticated");
});
afterAll(async () => {
  await attacker?.remove();
  await owner?.remove();
  await deleteIssuer(shared);
  kubectl(["-n", OPERATOR_NAMESPACE, "delete", "secret", shared.name, "--ignore-not-found"]);
  await rotor?.stop();
  await sim?.stop();
});

describe("an OCS issuer with an administrator client", () => {
  // First, before any ClientCredential names the administrator (a refusal may echo the id it was given).
  it("never shows the administrator's client id in issuers' or ClientCredentials' conditions and events", {
    timeout: 60_000,
  }, async () => {
    // One more issuer, whose administrator secret is wrong: its refusal used to name the client.
    await putSecret(attacker.name, "wrong-admin", { client_id: admin.clientId, client_secret: "wrong" });
    await createIssuer(
      { namespace: attacker.name, name: "wrong" },
      {
        ocs: {
          url: sim.url,
          tenantId: tenant,
          auth: { clientCredentials: { secretRef: { name: "wrong-admin" } } },
        },
      },
    );
    await waitForIssuer({ namespace: attacker.name, name: "wrong" }, "False", "BadCredentials");
    await createClientCredential(attacker.name, "via-wrong", {
      issuerRef: { kind: "CredentialIssuer", name: "wrong" },
      roleIds: [sim.memberRoleId(tenant)],
    });
    await waitForReason(attacker.name, "via-wrong", "IssuerError");

    const texts: string[] = [];
    for (const ref of [
      { namespace: attacker.name, name: local },
      { namespace: attacker.name, name: careless },
      { namespace: attacker.name, name: "wrong" },
      shared,
    ]) {
      const issuer = await getIssuer(ref);
      texts.push(...(issuer.status?.conditions ?? []).map((c) => c.message));
      expect(readyCondition(issuer)).toBeDefined();
    }
    const events = kubeConfig().makeApiClient(EventsV1Api);
    for (const namespace of [attacker.name, owner.name, "default"])
      for (const event of (await events.listNamespacedEvent({ namespace })).items)
        texts.push(event.note ?? "");
    for (const namespace of [attacker.name, owner.name]) {
      const list = JSON.parse(
        kubectl(["-n", namespace, "get", "clientcredentials", "-o", "json"]).stdout,
      ) as {
        items: Array<{ status?: { conditions?: Array<{ message: string }> } }>;
      };
      for (const cc of list.items) texts.push(...(cc.status?.conditions ?? []).map((c) => c.message));
    }
    expect(texts.length).toBeGreaterThan(5);
    expect(texts.some((t) => t.includes("administrator client"))).toBe(true);
    for (const text of texts) expect(text.toLowerCase()).not.toContain(admin.clientId.toLowerCase());
  });

  it("refuses the administrator client itself, in any spelling, even when the issuer lists it", {
    timeout: 90_000,
  }, async () => {
    const before = ids(admin.clientId);
    // One after the other: two ClientCredentials naming one client would conflict with each other.
    const attempts = [
      // Not listed: refused by the list.
      ["take-admin", local, admin.clientId, "lets ClientCredentials use only clients Rotor creates"],
      // Listed by mistake (in another case): refused as the administrator.
      [
        "take-admin-upper",
        careless,
        admin.clientId.toUpperCase(),
        "spec.clientId names the administrator client",
      ],
    ] as const;
    for (const [name, issuer, clientId, says] of attempts) {
      await createClientCredential(attacker.name, name, {
        issuerRef: { kind: "CredentialIssuer", name: issuer },
        clientId,
        rollout: { strategy: "None" },
      });
      const ready = condition(await waitForReason(attacker.name, name, "IssuerNotAllowed"), "Ready");
      expect(ready?.status).toBe("False");
      expect(ready?.message).toContain(says);
      // Some seconds later: no secret of the administrator minted, listed away or revoked, and
      // nothing of it in the attacker's namespace.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(ids(admin.clientId)).toEqual(before);
      expect(await readSecret(attacker.name, name)).toBeUndefined();
      expect((await getClientCredential(attacker.name, name))?.status?.currentSecretId).toBeUndefined();
      await deleteClientCredential(attacker.name, name);
      await waitForGone(attacker.name, name);
    }
    expect(sim.hasClient(tenant, admin.clientId)).toBe(true);
    expect(ids(admin.clientId)).toEqual(before);
  });

  it("lets a namespace name only the clients listed for it; other namespaces get clients Rotor creates", {
    timeout: 120_000,
  }, async () => {
    const byShared = (clientId?: string) => ({
      issuerRef: { kind: "ClusterCredentialIssuer", name: shared.name },
      roleIds: [sim.memberRoleId(tenant)],
      rollout: { strategy: "None" },
      ...(clientId ? { clientId } : {}),
    });

    await createClientCredential(attacker.name, "take-listed", byShared(listed.clientId));
    await createClientCredential(attacker.name, "take-unlisted", byLocal(unlisted.clientId));
    await createClientCredential(attacker.name, "own", byLocal());
    const other = condition(await waitForReason(attacker.name, "take-listed", "IssuerNotAllowed"), "Ready");
    expect(other?.message).toBe(
      `ClusterCredentialIssuer ${shared.name} does not list client ${listed.clientId} for namespace ${attacker.name} in spec.ocs.namedClients: remove spec.clientId so that Rotor creates a client (in a new ClientCredential: clientId is immutable), or ask the issuer's owner to list it`,
    );
    const none = condition(await waitForReason(attacker.name, "take-unlisted", "IssuerNotAllowed"), "Ready");
    expect(none?.message).toContain(
      `CredentialIssuer ${attacker.name}/${local} lets ClientCredentials use only clients Rotor creates`,
    );
    // What the attacker may have: a client Rotor creates for it.
    const own = await waitForReady(attacker.name, "own");
    expect(sim.hasClient(tenant, own.status?.clientId as string)).toBe(true);
    expect(ids(listed.clientId)).toEqual([listed.secretId]);
    expect(ids(unlisted.clientId)).toEqual([unlisted.secretId]);

    // The namespace the client is listed for gets it (once the attacker's claim is gone).
    await deleteClientCredential(attacker.name, "take-listed");
    await waitForGone(attacker.name, "take-listed");
    await createClientCredential(owner.name, "mine", byShared(listed.clientId));
    const mine = await waitForReady(owner.name, "mine");
    expect(mine.status?.clientId).toBe(listed.clientId);
    expect(ids(listed.clientId)).toContain(mine.status?.currentSecretId);
    expect(ids(unlisted.clientId)).toEqual([unlisted.secretId]);
  });

  it("refuses at admission a rule that names namespaces where they mean nothing, or none where they must", () => {
    const manifest = (kind: string, rule: Record<string, unknown>) =>
      JSON.stringify({
        apiVersion: "rotor.dev/v1alpha1",
        kind,
        metadata: { name: `bad-rule-${process.pid}` },
        spec: {
          ocs: {
            url: sim.url,
            tenantId: tenant,
            auth: { clientCredentials: { secretRef: { name: "adh-admin" } } },
            namedClients: [{ clientIds: [admin.clientId], ...rule }],
          },
        },
      });
    const namespaced = kubectl(
      ["-n", attacker.name, "create", "-f", "-"],
      manifest("CredentialIssuer", { namespaces: [owner.name] }),
    );
    expect(namespaced.code).not.toBe(0);
    expect(namespaced.stderr).toContain("a CredentialIssuer serves only its own namespace");
    const everywhere = kubectl(["create", "-f", "-"], manifest("ClusterCredentialIssuer", {}));
    expect(everywhere.code).not.toBe(0);
    expect(everywhere.stderr).toContain("needs exactly one of namespaces or namespaceSelector");
  });
});
