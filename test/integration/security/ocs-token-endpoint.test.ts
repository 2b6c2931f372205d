/**
 * Issue 9, point 4: secrets go only to the issuer's own token endpoint. The tenant's discovery
 * document names a token endpoint on another server (an attacker's, which collects whatever
 * client secret it is sent); a spec.ocs.url uses plain http to a host that is not loopback.
 * Rotor, as its own process, sends no secret — not the administrator's, not a bootstrap
 * secret — and the issuers say why. Only Rotor's own flag lifts the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OcsSimulator } from "../../simulator/ocs/server.ts";
import { eventually, testNamespace } from "../../support/cluster.ts";
import { condition, createClientCredential, getClientCredential } from "../../support/credentials.ts";
import {
  createIssuer,
  putSecret,
  readyCondition,
  type SecretCollector,
  startSecretCollector,
  waitForIssuer,
} from "../../support/issuers.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";

let rotor: RotorProcess;
let sim: OcsSimulator;
let collector: SecretCollector;
let tenant: string;
let ns: Awaited<ReturnType<typeof testNamespace>>;

beforeAll(async () => {
  collector = await startSecretCollector();
  sim = await OcsSimulator.start();
  tenant = sim.addTenant();
  sim.setHostility({ tokenEndpoint: collector.url });
  ns = await testNamespace("token-endpoint");
  const admin = sim.addAdminClient(tenant);
  await putSecret(ns.name, "adh-admin", { client_id: admin.clientId, client_secret: admin.secret });
  const client = sim.addClient(tenant, { name: "self-rotating" });
  await putSecret(ns.name, "bootstrap", { client_secret: client.secret });
  rotor = await startRotor(["--issuer-check-interval=2s", "--finalizer-timeout=5s"]);

  const asAdmin = { clientCredentials: { secretRef: { name: "adh-admin" } } };
  await createIssuer(
    { namespace: ns.name, name: "adh" },
    { ocs: { url: sim.url, tenantId: tenant, auth: asAdmin } },
  );
  await createIssuer(
    { namespace: ns.name, name: "adh-self" },
    { ocs: { url: sim.url, tenantId: tenant, auth: { self: {} } } },
  );
  await createIssuer(
    { namespace: ns.name, name: "plain" },
    { ocs: { url: "http://ocs.example.invalid", tenantId: tenant, auth: asAdmin } },
  );
  await createClientCredential(ns.name, "via-admin", {
    issuerRef: { kind: "CredentialIssuer", name: "adh" },
    roleIds: [sim.memberRoleId(tenant)],
  });
  await createClientCredential(ns.name, "via-self", {
    issuerRef: { kind: "CredentialIssuer", name: "adh-self" },
    clientId: client.clientId,
    bootstrapSecretRef: { name: "bootstrap" },
  });
  await createClientCredential(ns.name, "via-plain", {
    issuerRef: { kind: "CredentialIssuer", name: "plain" },
    roleIds: [sim.memberRoleId(tenant)],
  });
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
  await sim?.stop();
  await collector?.stop();
});

describe("a token endpoint on another server", () => {
  it("gets no secret — neither the administrator's nor a bootstrap secret — and the issuers say why", {
    timeout: 90_000,
  }, async () => {
    const collectorOrigin = new URL(collector.url).origin;
    for (const name of ["adh", "adh-self"]) {
      const issuer = await waitForIssuer({ namespace: ns.name, name }, "False", "ForeignTokenEndpoint");
      const message = readyCondition(issuer)?.message ?? "";
      expect(message).toContain(
        `names a token endpoint on ${collectorOrigin}, not on spec.ocs.url's ${sim.url}`,
      );
      expect(message).toContain("--allow-foreign-token-endpoints");
      expect(issuer.status?.tokenEndpoint).toBeUndefined();
    }
    const plain = await waitForIssuer({ namespace: ns.name, name: "plain" }, "False", "InsecureUrl");
    expect(readyCondition(plain)?.message).toContain("spec.ocs.url uses plain http to ocs.example.invalid");

    // Their ClientCredentials wait, saying the same.
    const waiting: Array<[string, string]> = [
      ["via-admin", "ForeignTokenEndpoint"],
      ["via-self", "ForeignTokenEndpoint"],
      ["via-plain", "InsecureUrl"],
    ];
    for (const [name, reason] of waiting)
      await eventually(`${name} IssuerError (${reason})`, async () => {
        const ready = condition(await getClientCredential(ns.name, name), "Ready");
        return ready?.reason === "IssuerError" && ready.message.includes(reason) ? true : undefined;
      });

    // Several checks (every 2 s) and reconciles later, the collector has still received nothing.
    const checks = sim.stats.requests;
    await eventually("three more discoveries", () => (sim.stats.requests >= checks + 3 ? true : undefined));
    expect(collector.requests()).toBe(0);
    expect(collector.secretsReceived()).toBe(0);
  });

  it("receives the administrator's secret only once Rotor's flag --allow-foreign-token-endpoints says so", {
    timeout: 90_000,
  }, async () => {
    await rotor.stop();
    rotor = await startRotor([
      "--issuer-check-interval=2s",
      "--finalizer-timeout=5s",
      "--allow-foreign-token-endpoints",
    ]);
    await eventually("the collector to receive a secret", () =>
      collector.secretsReceived() > 0 ? true : undefined,
    );
    // The plain-http issuer is still refused: the flags are separate.
    await waitForIssuer({ namespace: ns.name, name: "plain" }, "False", "InsecureUrl");
  });
});
