/**
 * What the OAuth2 registration issuer leaves behind when an answer is lost, against a real Hydra:
 * an intent recorded before a registration is listed, once no answer can come any more, with
 * Rotor's marker, so the controller revokes it; revoking it deletes the client the lost answer
 * made where Hydra's admin API is named, and only forgets it where not. An outage of the server
 * fails calls with messages that carry no token and no secret.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssuerError } from "../../../src/issuers/issuer.ts";
import { HydraAdmin } from "../../../src/issuers/oauth2/hydra-admin.ts";
import { unconfirmedId } from "../../../src/issuers/oauth2/registration.ts";
import type { RegisteredEntry } from "../../../src/issuers/oauth2/registrations.ts";
import { testNamespace } from "../../support/cluster.ts";
import { type Hydra, listClients, register, startHydra, token } from "../../support/hydra.ts";
import {
  CALL_TIMEOUT_MS,
  marked,
  type RegistrationSetup,
  registrationSetup,
  thrown,
  writeIntent,
} from "../../support/oauth2.ts";

const inADay = () => new Date(Date.now() + 86_400_000);
/** Older than the call timeout and the margin for clocks: no registration can still be in flight. */
const LOST = CALL_TIMEOUT_MS + 60_000;

describe("OAuth2 registration issuer: lost answers and outages", () => {
  let hydra: Hydra;
  let rotorNs: { name: string; remove: () => Promise<void> };
  let withAdmin: RegistrationSetup;
  let withoutAdmin: RegistrationSetup;

  beforeAll(async () => {
    [hydra, rotorNs] = await Promise.all([startHydra(), testNamespace("oauth2-recovery")]);
    withAdmin = registrationSetup(
      { issuerUrl: hydra.issuerUrl, hydraAdminUrl: hydra.adminUrl },
      rotorNs.name,
    );
    withoutAdmin = registrationSetup({ issuerUrl: hydra.issuerUrl }, rotorNs.name, {
      key: "CredentialIssuer/team/no-admin",
    });
  });
  afterAll(async () => {
    await hydra?.stop();
    await rotorNs?.remove();
  });

  /** A group with one client, as createClient leaves it. */
  async function group(setup: RegistrationSetup, owner = randomUUID()) {
    const id = randomUUID();
    const first = await setup.issuer.createClient({
      clientId: id,
      name: "lost",
      roleIds: [],
      ownerUid: owner,
      firstSecret: { description: marked("lost", owner, "first"), expiration: inADay() },
    });
    return { id, owner, first };
  }

  /** What a registration whose answer was lost leaves: the intent, and the client at Hydra. */
  async function lostRegistration(setup: RegistrationSetup, groupId: string, name: string, ageMs: number) {
    const nonce = randomUUID().slice(0, 8);
    await writeIntent(setup.store, groupId, name, nonce, ageMs);
    const registered = await register(hydra.registrationUrl, {
      client_name: name,
      grant_types: ["client_credentials"],
      token_endpoint_auth_method: "client_secret_basic",
    });
    expect(registered.status).toBe(201);
    return { nonce, client: registered.body };
  }

  it("lists a lost intent with its marker and, revoking it, deletes the client through the admin API", async () => {
    const { issuer } = withAdmin;
    const { id, owner, first } = await group(withAdmin);
    const name = marked("lost", owner, "lost1");
    const { nonce, client } = await lostRegistration(withAdmin, id, name, LOST);
    const listed = await issuer.listSecrets(id);
    expect(listed.map((s) => [s.id, s.description])).toEqual([
      [first.id, marked("lost", owner, "first")],
      [unconfirmedId(nonce), name],
    ]);
    expect(issuer.findsLostClients).toBe(true);

    expect(await issuer.revokeSecret(id, unconfirmedId(nonce))).toBeUndefined();
    expect(await listClients(hydra.adminUrl, name)).toEqual([]);
    expect((await token(hydra.publicUrl, client.client_id, client.client_secret)).status).toBe(401);
    expect((await issuer.listSecrets(id)).map((s) => s.id)).toEqual([first.id]);
    // An intent as young as a registration in flight fails the list until it can be listed, so
    // that the controller looks again rather than settle with a client that may exist.
    const young = marked("lost", owner, "young");
    await writeIntent(withAdmin.store, id, young, "young1", 0);
    await expect(issuer.listSecrets(id)).rejects.toThrow("may still be under way");
    expect((await withAdmin.store.read(id))?.entries.map((e) => e.clientName)).toEqual([
      marked("lost", owner, "first"),
      young,
    ]);
    // The recorded client is not touched, and revoking again is fine.
    expect((await token(hydra.publicUrl, first.id, first.value)).status).toBe(200);
    await issuer.revokeSecret(id, unconfirmedId(nonce));
    await issuer.deleteClient(id);
  });

  it("without hydraAdminUrl, forgets a lost intent and leaves its client at the server", async () => {
    const { issuer, store } = withoutAdmin;
    const { id, owner } = await group(withoutAdmin);
    const name = marked("lost", owner, "left1");
    const { nonce, client } = await lostRegistration(withoutAdmin, id, name, LOST);
    expect(issuer.findsLostClients).toBe(false);
    expect((await issuer.listSecrets(id)).map((s) => s.id)).toContain(unconfirmedId(nonce));

    const warning = await issuer.revokeSecret(id, unconfirmedId(nonce));
    expect(warning).toContain(`a client named "${name}" may be left at the server`);
    expect((await store.read(id))?.entries.map((e) => e.state)).toEqual(["registered"]);
    // What can be left behind: the client of a lost answer, one per lost registration.
    expect((await listClients(hydra.adminUrl, name)).map((c) => c.client_id)).toEqual([client.client_id]);
    await issuer.deleteClient(id);
  });

  it("finds every client of a lost registration's name, page by page", async () => {
    const name = marked("paged", randomUUID(), "p1");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const registered = await register(hydra.registrationUrl, {
        client_name: name,
        grant_types: ["client_credentials"],
      });
      ids.push(registered.body.client_id);
    }
    await register(hydra.registrationUrl, {
      client_name: `${name} other`,
      grant_types: ["client_credentials"],
    });
    const admin = new HydraAdmin(withAdmin.server.http, hydra.adminUrl, 2);
    expect((await admin.clientsNamed(name, AbortSignal.timeout(10_000))).sort()).toEqual(ids.sort());
  });

  it("records concurrent intents of one group without losing either (compare-and-swap)", async () => {
    const { id } = await group(withAdmin);
    await Promise.all(
      ["a", "b", "c", "d"].map((n) => writeIntent(withAdmin.store, id, `race ${n}`, `race-${n}`, 0)),
    );
    const names = (await withAdmin.store.read(id))?.entries.map((e) => e.clientName);
    expect(names?.filter((n) => n.startsWith("race")).sort()).toEqual([
      "race a",
      "race b",
      "race c",
      "race d",
    ]);
    await withAdmin.issuer.deleteClient(id);
  });

  it("fails calls while the server is down without a token or secret in any message, and recovers", async () => {
    const { issuer, store } = withAdmin;
    const { id, owner, first } = await group(withAdmin);
    const recorded = (await store.read(id))?.entries[0] as RegisteredEntry;
    const secrets = [recorded.registrationAccessToken, first.value];

    await hydra.kill("SIGKILL");
    try {
      const messages: string[] = [];
      const revoke = await thrown(issuer.revokeSecret(id, first.id));
      expect((revoke as IssuerError).kind).toBe("Unavailable");
      messages.push(revoke.message);
      const mint = await thrown(
        issuer.mintSecret(id, { description: marked("lost", owner, "down"), expiration: inADay() }),
      );
      expect(mint).toBeInstanceOf(IssuerError);
      messages.push(mint.message);
      const verified = await issuer.verify(first.id, first.value);
      expect(verified).toMatchObject({ ok: false, permanent: false });
      messages.push(verified.ok ? "" : verified.reason);
      const check = await issuer.check();
      expect(check).toMatchObject({ ok: false, reason: "Unreachable" });
      messages.push(check.message);
      for (const message of messages) for (const secret of secrets) expect(message).not.toContain(secret);
      // A registration refused a connection never reached the server: no intent is kept for it.
      expect((await store.read(id))?.entries.map((e) => e.state)).toEqual(["registered"]);
    } finally {
      await hydra.restart();
    }
    await issuer.revokeSecret(id, first.id);
    expect((await token(hydra.publicUrl, first.id, first.value)).status).toBe(401);
    await issuer.deleteClient(id);
    expect(await store.read(id)).toBeUndefined();
  });
});
