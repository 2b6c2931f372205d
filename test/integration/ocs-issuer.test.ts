/**
 * The OCS / AVEVA Data Hub issuer against the simulator, with Rotor as its own process: the
 * whole lifecycle with administrator and with self authentication, a client whose 10 slots are
 * taken by someone else, a client that does not exist, and issuers Rotor cannot use.
 */
import { EventsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../hack/controlplane/controlplane.ts";
import { OcsSimulator } from "../simulator/ocs/server.ts";
import { eventually, kubeConfig, kubectl, testNamespace } from "../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  decoded,
  deleteClientCredential,
  getClientCredential,
  readSecret,
  requestToken,
  versionSecrets,
  waitForGone,
  waitForReady,
  waitForReason,
} from "../support/credentials.ts";
import { createIssuer, deleteIssuer, putSecret, readyCondition, waitForIssuer } from "../support/issuers.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../support/rotor.ts";
import { createDeployment, podSpec, readyPods } from "../support/workloads.ts";

let rotor: RotorProcess;
let sim: OcsSimulator;
let tenant: string;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const clusterIssuers: Array<{ name: string }> = [];
/** Every secret value this file saw: none may appear in Rotor's output. */
const values = new Set<string>();

const adminIssuer = "adh";
const selfIssuer = "adh-self";
const tokenEndpoint = () => `${sim.url}/identity/connect/token`;
const byAdmin = {
  issuerRef: { kind: "CredentialIssuer", name: adminIssuer },
  get roleIds() {
    return [sim.memberRoleId(tenant)];
  },
};
const ids = (clientId: string) => sim.secrets(tenant, clientId).map((s) => s.id);
/** Existing clients the tests below name in spec.clientId: the issuer must list them. */
const fullClientId = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d";
const missingClientId = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

beforeAll(async () => {
  sim = await OcsSimulator.start();
  tenant = sim.addTenant();
  ns = await testNamespace("ocs");
  const admin = sim.addAdminClient(tenant);
  values.add(admin.secret);
  await putSecret(ns.name, "adh-admin", { client_id: admin.clientId, client_secret: admin.secret });
  rotor = await startRotor(["--issuer-check-interval=5s", "--verify-timeout=10s", "--finalizer-timeout=20s"]);
  await createIssuer(
    { namespace: ns.name, name: adminIssuer },
    {
      ocs: {
        url: sim.url,
        tenantId: tenant,
        auth: { clientCredentials: { secretRef: { name: "adh-admin" } } },
        namedClients: [{ clientIds: [fullClientId, missingClientId] }],
      },
    },
  );
  await createIssuer(
    { namespace: ns.name, name: selfIssuer },
    {
      ocs: { url: sim.url, tenantId: tenant, auth: { self: {} } },
    },
  );
});
afterAll(async () => {
  await ns?.remove();
  for (const ref of clusterIssuers) {
    await deleteIssuer(ref);
    kubectl(["-n", OPERATOR_NAMESPACE, "delete", "secret", ref.name, "--ignore-not-found"]);
  }
  await rotor?.stop();
  await sim?.stop();
});

async function currentValue(name: string): Promise<{ clientId: string; value: string; tokenUrl?: string }> {
  const target = await readSecret(ns.name, name);
  const value = decoded(target, "client_secret") as string;
  values.add(value);
  return { clientId: decoded(target, "client_id") as string, value, tokenUrl: decoded(target, "token_url") };
}

describe("OCS issuers", () => {
  it("are Ready once Rotor has authenticated (administrator) or reached the tenant (self)", async () => {
    const admin = await waitForIssuer({ namespace: ns.name, name: adminIssuer }, "True", "Authenticated");
    expect(admin.status?.tokenEndpoint).toBe(tokenEndpoint());
    expect(admin.status?.lastCheckTime).toBeTruthy();
    const self = await waitForIssuer({ namespace: ns.name, name: selfIssuer }, "True", "Reachable");
    expect(self.status?.tokenEndpoint).toBe(tokenEndpoint());
    // Checked on change and every --issuer-check-interval (5s here), not in a loop.
    const tokens = sim.stats.tokensIssued;
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(sim.stats.tokensIssued - tokens).toBeLessThanOrEqual(2);
  });
});

describe("a ClientCredential on an OCS issuer with an administrator client", () => {
  it("creates the client, mints, verifies, rotates, rolls over, revokes and deletes the client", {
    timeout: 240_000,
  }, async () => {
    await createDeployment(ns.name, "ingest", podSpec(["ingest"]), 2);
    const cc = await createClientCredential(ns.name, "ingest", { ...byAdmin, gracePeriod: "2s" });
    const first = await waitForReady(ns.name, "ingest");
    const clientId = first.status?.clientId as string;
    expect(clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sim.hasClient(tenant, clientId)).toBe(true);
    expect(sim.stats.clientCreations.get(clientId)).toBe(1);

    // The secret at the issuer carries the description and Rotor's marker.
    const [minted] = sim.secrets(tenant, clientId);
    expect(minted?.id).toBe(first.status?.currentSecretId);
    expect(minted?.description).toMatch(new RegExp(`^test ingest \\(rotor:${cc.metadata.uid}:[0-9a-z]+\\)$`));

    const target = await currentValue("ingest");
    expect(target.clientId).toBe(clientId);
    expect(target.tokenUrl).toBe(tokenEndpoint());
    expect((await requestToken(tokenEndpoint(), clientId, target.value, "post")).status).toBe(200);
    const before = await readyPods(ns.name, "ingest", 2);

    // Rotate: a new secret, the consumers restarted, then the old secret revoked.
    await annotate(ns.name, "ingest", { "rotor.dev/rotate": "1" });
    const rotated = await eventually("the rotation", async () => {
      const now = await getClientCredential(ns.name, "ingest");
      const id = now?.status?.currentSecretId;
      return id && id !== first.status?.currentSecretId ? now : undefined;
    });
    const next = await currentValue("ingest");
    expect(next.value).not.toBe(target.value);
    expect((await requestToken(tokenEndpoint(), clientId, next.value, "post")).status).toBe(200);
    await eventually(
      "the consumers to roll over",
      async () => {
        const pods = await readyPods(ns.name, "ingest", 2);
        return pods.every((p) => !before.some((b) => b.metadata?.uid === p.metadata?.uid)) ? pods : undefined;
      },
      120_000,
    );
    await eventually("the superseded secret to be revoked", () =>
      ids(clientId).join() === rotated?.status?.currentSecretId ? true : undefined,
    );
    expect((await requestToken(tokenEndpoint(), clientId, target.value, "post")).status).toBe(400);
    expect(sim.stats.puts).toBe(0);

    // Deletion with Revoke (the default): Rotor created the client, so it deletes it.
    await deleteClientCredential(ns.name, "ingest");
    await waitForGone(ns.name, "ingest");
    expect(sim.hasClient(tenant, clientId)).toBe(false);
  });

  it("reports SlotsExhausted for a client that holds 10 secrets from elsewhere, and deletes none", {
    timeout: 90_000,
  }, async () => {
    const client = sim.addClient(tenant, { clientId: fullClientId, name: "full" });
    for (let i = 1; i < 10; i++) sim.addSecret(tenant, client.clientId, { description: `by hand ${i}` });
    const held = ids(client.clientId);
    expect(held).toHaveLength(10);

    await createClientCredential(ns.name, "full", { ...byAdmin, clientId: client.clientId });
    const blocked = await waitForReason(ns.name, "full", "SlotsExhausted");
    expect(condition(blocked, "Ready")?.message).toContain("10 of at most 10");
    // It keeps trying with backoff; a few seconds later still nothing of anyone else's is gone.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(ids(client.clientId)).toEqual(held);
    expect(await readSecret(ns.name, "full")).toBeUndefined();
  });

  it("reports a clientId that does not exist in the tenant, and creates nothing", async () => {
    const missing = missingClientId;
    await createClientCredential(ns.name, "typo", { ...byAdmin, clientId: missing });
    const cc = await waitForReason(ns.name, "typo", "IssuerError");
    expect(condition(cc, "Ready")?.message).toContain(`client ${missing} does not exist`);
    expect(sim.hasClient(tenant, missing)).toBe(false);
  });
});

describe("a ClientCredential on an OCS issuer with self authentication", () => {
  it("rotates away from the bootstrap secret, revokes it, rotates again and revokes on deletion", {
    timeout: 180_000,
  }, async () => {
    const client = sim.addClient(tenant, { name: "historian" });
    values.add(client.secret);
    await putSecret(ns.name, "historian-bootstrap", { client_secret: client.secret });
    await createClientCredential(ns.name, "historian", {
      issuerRef: { kind: "CredentialIssuer", name: selfIssuer },
      clientId: client.clientId,
      bootstrapSecretRef: { name: "historian-bootstrap", secretId: client.secretId },
      gracePeriod: "2s",
    });
    const first = await waitForReady(ns.name, "historian");
    const current = first.status?.currentSecretId as string;
    expect(current).not.toBe(client.secretId);
    const target = await currentValue("historian");
    expect(target.clientId).toBe(client.clientId);
    expect((await requestToken(tokenEndpoint(), client.clientId, target.value, "post")).status).toBe(200);

    // Nobody reads the bootstrap Secret: the bootstrap secret goes after gracePeriod.
    await eventually("the bootstrap secret to be revoked", () =>
      ids(client.clientId).join() === current ? true : undefined,
    );
    expect((await requestToken(tokenEndpoint(), client.clientId, client.secret, "post")).status).toBe(400);

    // The client rotates itself, authenticating with its current secret.
    await annotate(ns.name, "historian", { "rotor.dev/rotate": "1" });
    const rotated = await eventually("the rotation", async () => {
      const now = await getClientCredential(ns.name, "historian");
      const id = now?.status?.currentSecretId;
      return id && id !== current ? id : undefined;
    });
    await currentValue("historian");
    await eventually("the superseded secret to be revoked", () =>
      ids(client.clientId).join() === rotated ? true : undefined,
    );

    await deleteClientCredential(ns.name, "historian");
    await waitForGone(ns.name, "historian");
    // Every secret Rotor minted is revoked; the client itself is not Rotor's to delete.
    expect(ids(client.clientId)).toEqual([]);
    expect(sim.hasClient(tenant, client.clientId)).toBe(true);
    expect(sim.stats.puts).toBe(0);
  });

  it("keeps the bootstrap secret while a pod still reads the bootstrap Secret", {
    timeout: 120_000,
  }, async () => {
    const client = sim.addClient(tenant, { name: "reader" });
    values.add(client.secret);
    await putSecret(ns.name, "reader-bootstrap", { client_secret: client.secret });
    await createDeployment(ns.name, "reader", podSpec(["reader-bootstrap"]), 1);
    await readyPods(ns.name, "reader", 1);
    await createClientCredential(ns.name, "reader", {
      issuerRef: { kind: "CredentialIssuer", name: selfIssuer },
      clientId: client.clientId,
      bootstrapSecretRef: { name: "reader-bootstrap", secretId: client.secretId },
      gracePeriod: "1s",
    });
    await waitForReady(ns.name, "reader");
    await eventually("a BootstrapInUse warning", async () => {
      const events = await fetchEvents(ns.name, "reader");
      return events.some((e) => e.reason === "BootstrapInUse") ? true : undefined;
    });
    expect(ids(client.clientId)).toContain(client.secretId);
  });
});

describe("a ClusterCredentialIssuer for OCS", () => {
  it("reads its administrator Secret only from Rotor's namespace and admits only the namespaces it selects", {
    timeout: 120_000,
  }, async () => {
    const admin = sim.addAdminClient(tenant);
    values.add(admin.secret);
    const shared = { name: `${ns.name}-shared` };
    const local = { name: `${ns.name}-local` };
    const picky = { name: `${ns.name}-picky` };
    clusterIssuers.push(shared, local, picky);
    await putSecret(OPERATOR_NAMESPACE, shared.name, {
      client_id: admin.clientId,
      client_secret: admin.secret,
    });
    const ocs = (secret: string) => ({
      url: sim.url,
      tenantId: tenant,
      auth: { clientCredentials: { secretRef: { name: secret } } },
    });
    await createIssuer(shared, { ocs: ocs(shared.name) });
    // "adh-admin" exists only in the test namespace: a cluster issuer must not find it there.
    await createIssuer(local, { ocs: ocs("adh-admin") });
    await createIssuer(picky, {
      ocs: ocs(shared.name),
      namespaceSelector: { matchLabels: { team: "nobody" } },
    });

    await waitForIssuer(shared, "True", "Authenticated");
    const refused = await waitForIssuer(local, "False", "CredentialsUnavailable");
    expect(readyCondition(refused)?.message).toContain(
      `Secret ${OPERATOR_NAMESPACE}/adh-admin does not exist`,
    );

    const use = (name: string) => ({
      issuerRef: { kind: "ClusterCredentialIssuer", name },
      roleIds: [sim.memberRoleId(tenant)],
      rollout: { strategy: "None" },
    });
    await createClientCredential(ns.name, "via-shared", use(shared.name));
    await createClientCredential(ns.name, "via-picky", use(picky.name));
    const ready = await waitForReady(ns.name, "via-shared");
    expect(sim.hasClient(tenant, ready.status?.clientId as string)).toBe(true);
    await waitForReason(ns.name, "via-picky", "IssuerNotAllowed");
  });
});

describe("an OCS issuer Rotor cannot use", () => {
  it("is not Ready and says why; its ClientCredentials report IssuerError; Rotor carries on", {
    timeout: 120_000,
  }, async () => {
    const admin = sim.addAdminClient(tenant);
    values.add(admin.secret);
    await putSecret(ns.name, "wrong-admin", { client_id: admin.clientId, client_secret: "not-the-secret" });
    const closedPort = await freePort();
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      [
        "bad-credentials",
        {
          url: sim.url,
          tenantId: tenant,
          auth: { clientCredentials: { secretRef: { name: "wrong-admin" } } },
        },
        "BadCredentials",
        "refused administrator client",
      ],
      [
        "unknown-tenant",
        {
          url: sim.url,
          tenantId: "5d6e7f80-1a2b-4c3d-9e8f-0a1b2c3d4e5f",
          auth: { clientCredentials: { secretRef: { name: "adh-admin" } } },
        },
        "TenantNotFound",
        "was not found",
      ],
      [
        "unreachable",
        {
          url: `http://127.0.0.1:${closedPort}`,
          tenantId: tenant,
          auth: { clientCredentials: { secretRef: { name: "adh-admin" } } },
        },
        "Unreachable",
        "connection refused",
      ],
      [
        "no-secret",
        { url: sim.url, tenantId: tenant, auth: { clientCredentials: { secretRef: { name: "absent" } } } },
        "CredentialsUnavailable",
        "does not exist",
      ],
    ];
    for (const [name, ocs] of cases) {
      await createIssuer({ namespace: ns.name, name }, { ocs });
      await createClientCredential(ns.name, `via-${name}`, {
        issuerRef: { kind: "CredentialIssuer", name },
        roleIds: [sim.memberRoleId(tenant)],
      });
    }
    for (const [name, , reason, says] of cases) {
      const issuer = await waitForIssuer({ namespace: ns.name, name }, "False", reason);
      expect(readyCondition(issuer)?.message).toContain(says);
      // Once the issuer was checked, its ClientCredentials say what is wrong with it.
      await eventually(`via-${name} IssuerError naming ${reason}`, async () => {
        const ready = condition(await getClientCredential(ns.name, `via-${name}`), "Ready");
        return ready?.reason === "IssuerError" && ready.message.includes(reason) ? true : undefined;
      });
    }
    expect((await fetch(`${rotor.metricsUrl}/healthz`)).status).toBe(200);

    // The administrator's Secret is fixed: the issuer recovers on its next check, and so does
    // the ClientCredential that waited for it.
    await putSecret(ns.name, "wrong-admin", { client_id: admin.clientId, client_secret: admin.secret });
    await waitForIssuer({ namespace: ns.name, name: "bad-credentials" }, "True", "Authenticated");
    await waitForReady(ns.name, "via-bad-credentials");
  });

  it("holds a deleted ClientCredential while its issuer is unreachable, then lets go with a warning", {
    timeout: 120_000,
  }, async () => {
    const gone = await OcsSimulator.start();
    const goneTenant = gone.addTenant();
    const admin = gone.addAdminClient(goneTenant);
    values.add(admin.secret);
    await putSecret(ns.name, "gone-admin", { client_id: admin.clientId, client_secret: admin.secret });
    await createIssuer(
      { namespace: ns.name, name: "going" },
      {
        ocs: {
          url: gone.url,
          tenantId: goneTenant,
          auth: { clientCredentials: { secretRef: { name: "gone-admin" } } },
        },
      },
    );
    await createClientCredential(ns.name, "stranded", {
      issuerRef: { kind: "CredentialIssuer", name: "going" },
      roleIds: [gone.memberRoleId(goneTenant)],
    });
    const ready = await waitForReady(ns.name, "stranded");
    await gone.stop();

    await deleteClientCredential(ns.name, "stranded");
    const held = await waitForReason(ns.name, "stranded", "IssuerError");
    expect(held.metadata.finalizers).toContain("rotor.dev/finalizer");
    await waitForGone(ns.name, "stranded", 90_000);
    const warning = (await fetchEvents(ns.name, "stranded")).find((e) => e.reason === "RevocationAbandoned");
    expect(warning?.note).toContain(`client ${ready.status?.clientId}`);
  });

  it("never shows a secret value in Rotor's output", async () => {
    const output = rotor.output();
    expect(output.length).toBeGreaterThan(0);
    expect(values.size).toBeGreaterThan(3);
    for (const value of values) expect(output).not.toContain(value);
    for (const cc of ["via-bad-credentials", "full"]) {
      const uid = (await getClientCredential(ns.name, cc))?.metadata.uid as string;
      for (const secret of await versionSecrets(ns.name, uid))
        values.add(decoded(secret, "client_secret") ?? "");
    }
    for (const value of values) if (value) expect(output).not.toContain(value);
  });
});

async function fetchEvents(
  namespace: string,
  name: string,
): Promise<Array<{ reason?: string; note?: string }>> {
  const list = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.regarding?.name === name);
}
