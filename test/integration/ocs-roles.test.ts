/**
 * Roles of the clients Rotor creates at an OCS tenant, with Rotor as its own process against the
 * simulator, whose role ids differ per tenant as AVEVA's do: without spec.roleIds a client gets
 * the tenant's Member role, found by its role type; an issuer's defaults and allowed roles; a
 * namespace that asks for Tenant Administrator (or any role the issuer does not give) gets
 * nothing; roles the tenant lacks are reported, never guessed; an administrator client without
 * the Tenant Administrator role makes the issuer not Ready.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OcsSimulator } from "../simulator/ocs/server.ts";
import { eventsAbout, eventually, testNamespace } from "../support/cluster.ts";
import {
  condition,
  createClientCredential,
  getClientCredential,
  waitForReady,
} from "../support/credentials.ts";
import { createIssuer, getIssuer, putSecret, readyCondition, waitForIssuer } from "../support/issuers.ts";
import { type RotorProcess, startRotor } from "../support/rotor.ts";

let rotor: RotorProcess;
let sim: OcsSimulator;
let tenant: string;
let ns: Awaited<ReturnType<typeof testNamespace>>;
const role = (name: string) => ({ id: sim.roleId(tenant, name), name });

beforeAll(async () => {
  sim = await OcsSimulator.start();
  tenant = sim.addTenant();
  sim.addRole(tenant, { name: "Readers" });
  ns = await testNamespace("ocs-roles");
  const admin = sim.addAdminClient(tenant);
  await putSecret(ns.name, "admin", { client_id: admin.clientId, client_secret: admin.secret });
  rotor = await startRotor(["--issuer-check-interval=5s"]);
  const ocs = (extra: Record<string, unknown> = {}) => ({
    ocs: {
      url: sim.url,
      tenantId: tenant,
      auth: { clientCredentials: { secretRef: { name: "admin" } } },
      ...extra,
    },
  });
  await createIssuer({ namespace: ns.name, name: "plain" }, ocs());
  await createIssuer(
    { namespace: ns.name, name: "readers" },
    ocs({ clientRoles: { default: [{ name: "Readers" }], allowed: [{ name: "Tenant Contributor" }] } }),
  );
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
  await sim?.stop();
});

const using = (issuer: string, extra: Record<string, unknown> = {}) => ({
  issuerRef: { kind: "CredentialIssuer", name: issuer },
  rollout: { strategy: "None" },
  ...extra,
});

describe("an OCS issuer", () => {
  it("shows the roles its clients get, as found in the tenant", async () => {
    const plain = await waitForIssuer({ namespace: ns.name, name: "plain" }, "True", "Authenticated");
    expect(plain.status?.clientRoles).toEqual([role("Tenant Member")]);
    const clientRoles = plain.status?.conditions?.find((c) => c.type === "ClientRoles");
    expect(clientRoles).toMatchObject({ status: "True", reason: "Resolved" });
    expect(clientRoles?.message).toContain(`"Tenant Member" (${sim.memberRoleId(tenant)})`);

    const readers = await waitForIssuer({ namespace: ns.name, name: "readers" }, "True", "Authenticated");
    expect(readers.status?.clientRoles).toEqual([role("Tenant Member"), role("Readers")]);
    expect(readers.status?.conditions?.find((c) => c.type === "ClientRoles")?.message).toContain(
      `may also ask for "Tenant Contributor" (${sim.roleId(tenant, "Tenant Contributor")})`,
    );
  });

  it("reports a default role the tenant lacks in ClientRoles, stays Ready, and finds it once it exists", async () => {
    const ref = { namespace: ns.name, name: "auditors" };
    await createIssuer(ref, {
      ocs: {
        url: sim.url,
        tenantId: tenant,
        auth: { clientCredentials: { secretRef: { name: "admin" } } },
        clientRoles: { default: [{ name: "Auditors" }] },
      },
    });
    const issuer = await eventually("ClientRoles=False", async () => {
      const now = await getIssuer(ref);
      return now.status?.conditions?.find((c) => c.type === "ClientRoles")?.status === "False"
        ? now
        : undefined;
    });
    expect(readyCondition(issuer)).toMatchObject({ status: "True", reason: "Authenticated" });
    const clientRoles = issuer.status?.conditions?.find((c) => c.type === "ClientRoles");
    expect(clientRoles?.reason).toBe("RoleNotFound");
    expect(clientRoles?.message).toContain(`spec.ocs.clientRoles.default names role "Auditors"`);
    expect(issuer.status?.clientRoles).toBeUndefined();
    const warning = await eventually("a ClientRolesInvalid event", async () =>
      (await eventsAbout(ns.name, "auditors")).find((e) => e.reason === "ClientRolesInvalid"),
    );
    expect(warning.note).toContain("Auditors");

    // A ClientCredential meanwhile gets no client, and says why.
    await createClientCredential(ns.name, "audit", using("auditors"));
    const waiting = await eventually("the role error", async () => {
      const cc = await getClientCredential(ns.name, "audit");
      return condition(cc, "Ready")?.message.includes("Auditors") ? cc : undefined;
    });
    expect(waiting.status?.clientId).toBeUndefined();

    // The tenant's owner adds the role: the next check finds it, and so does the next attempt.
    sim.addRole(tenant, { name: "Auditors" });
    await eventually("ClientRoles=True", async () =>
      (await getIssuer(ref)).status?.conditions?.some((c) => c.type === "ClientRoles" && c.status === "True"),
    );
    const ready = await waitForReady(ns.name, "audit", 120_000);
    expect(sim.clientRoleIds(tenant, ready.status?.clientId as string).sort()).toEqual(
      [sim.memberRoleId(tenant), sim.roleId(tenant, "Auditors")].sort(),
    );
  });

  it("is not Ready when its administrator client lacks the Tenant Administrator role", async () => {
    const member = sim.addClient(tenant, { name: "not an administrator" });
    await putSecret(ns.name, "member", { client_id: member.clientId, client_secret: member.secret });
    const ref = { namespace: ns.name, name: "member" };
    await createIssuer(ref, {
      ocs: { url: sim.url, tenantId: tenant, auth: { clientCredentials: { secretRef: { name: "member" } } } },
    });
    const refused = await waitForIssuer(ref, "False", "Forbidden");
    expect(readyCondition(refused)?.message).toContain("lacks the Tenant Administrator role");
    expect(readyCondition(refused)?.message).toContain(`"Tenant Member"`);
    // The administrator's client id is the issuer owner's secret: no condition names it.
    expect(JSON.stringify(refused.status)).not.toContain(member.clientId);
  });
});

describe("a ClientCredential on an OCS issuer with an administrator", () => {
  it("without spec.roleIds gets a client with the tenant's Member role, and says so", async () => {
    const ready = await waitForReady(ns.name, await create("default", "plain"));
    const clientId = ready.status?.clientId as string;
    expect(sim.clientRoleIds(tenant, clientId)).toEqual([sim.memberRoleId(tenant)]);
    expect(ready.status?.clientRoles).toEqual([role("Tenant Member")]);
    const created = (await eventsAbout(ns.name, "default")).find((e) => e.reason === "ClientCreated");
    expect(created?.note).toBe(
      `Created client ${clientId} at the issuer with roles "Tenant Member" (${sim.memberRoleId(tenant)})`,
    );
  });

  it("gets the issuer's default roles, or a role the issuer allows", async () => {
    const defaults = await waitForReady(ns.name, await create("readers-default", "readers"));
    expect(defaults.status?.clientRoles).toEqual([role("Tenant Member"), role("Readers")]);
    expect(sim.clientRoleIds(tenant, defaults.status?.clientId as string).sort()).toEqual(
      [sim.memberRoleId(tenant), sim.roleId(tenant, "Readers")].sort(),
    );

    const contributor = sim.roleId(tenant, "Tenant Contributor");
    const asked = await waitForReady(ns.name, await create("contributor", "readers", [contributor]));
    expect(asked.status?.clientRoles).toEqual([role("Tenant Member"), role("Tenant Contributor")]);
    expect(sim.clientRoleIds(tenant, asked.status?.clientId as string).sort()).toEqual(
      [sim.memberRoleId(tenant), contributor].sort(),
    );
  });
});

describe("a namespace that asks for roles the issuer does not give", () => {
  it("gets no client: not Tenant Administrator, not an unlisted role, not a role the tenant lacks", async () => {
    const creations = sim.stats.clientCreations.size;
    const administrator = sim.roleId(tenant, "Tenant Administrator");
    const missing = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
    const attempts: Array<[string, string, string[], string]> = [
      [
        "takeover",
        "plain",
        [administrator],
        `asks for role "Tenant Administrator" (${administrator}), which the issuer does not give`,
      ],
      ["sideways", "readers", [sim.roleId(tenant, "Tenant Data Steward")], "spec.ocs.clientRoles.allowed"],
      [
        "made-up",
        "readers",
        [missing],
        `spec.roleIds names role id ${missing}, which the tenant does not have`,
      ],
    ];
    for (const [name, issuer, roleIds] of attempts) await create(name, issuer, roleIds);
    for (const [name, , , message] of attempts) {
      const refused = await eventually(`${name} refused`, async () => {
        const cc = await getClientCredential(ns.name, name);
        const ready = condition(cc, "Ready");
        return ready?.status === "False" && ready.message.includes(message) ? cc : undefined;
      });
      expect(condition(refused, "Ready")?.reason).toBe("IssuerError");
      expect(refused.status?.clientId).toBeUndefined();
    }
    // Nothing was created at the tenant for any of them, let alone an administrator.
    expect(sim.stats.clientCreations.size).toBe(creations);
  });
});

/** Creates a ClientCredential on `issuer`; returns its name. */
async function create(name: string, issuer: string, roleIds?: string[]): Promise<string> {
  await createClientCredential(ns.name, name, using(issuer, roleIds ? { roleIds } : {}));
  return name;
}
