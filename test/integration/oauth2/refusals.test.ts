/**
 * What the OAuth2 registration issuer refuses, and how it says so, against real Hydras: a server
 * that names no registration endpoint, one that does not allow registration, a missing initial
 * access token, and URLs secrets may not go to (plain http to another host, a token or
 * registration endpoint on another origin than spec.oauth2.issuerUrl). No message carries the
 * initial access token, and a refused registration leaves no intent behind.
 */
import { randomUUID } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STRICT, UrlRefused } from "../../../src/issuers/http/urls.ts";
import { IssuerError } from "../../../src/issuers/issuer.ts";
import { kubeConfig, testNamespace } from "../../support/cluster.ts";
import { type Hydra, listClients, startHydra } from "../../support/hydra.ts";
import { marked, registrationSetup, thrown } from "../../support/oauth2.ts";

const INITIAL_ACCESS_TOKEN = `iat-${randomUUID()}-${randomUUID()}`;
const inADay = () => new Date(Date.now() + 86_400_000);

describe("OAuth2 registration issuer: refusals", () => {
  let hydra: Hydra;
  /** Registration disabled, and not named in discovery. */
  let closed: Hydra;
  let rotorNs: { name: string; remove: () => Promise<void> };
  let teamNs: { name: string; remove: () => Promise<void> };

  beforeAll(async () => {
    [hydra, closed, rotorNs, teamNs] = await Promise.all([
      startHydra({ storage: "memory" }),
      startHydra({
        storage: "memory",
        env: {
          OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED: "false",
          WEBFINGER_OIDC_DISCOVERY_CLIENT_REGISTRATION_URL: "",
        },
      }),
      testNamespace("oauth2-refusals"),
      testNamespace("oauth2-team"),
    ]);
    await kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({
        namespace: teamNs.name,
        body: { metadata: { name: "registration" }, stringData: { token: INITIAL_ACCESS_TOKEN } },
      });
  });
  afterAll(async () => {
    await Promise.all([hydra?.stop(), closed?.stop()]);
    await Promise.all([rotorNs?.remove(), teamNs?.remove()]);
  });

  const create = (setup: ReturnType<typeof registrationSetup>, group: string, name: string) =>
    setup.issuer.createClient({
      clientId: group,
      name: "refused",
      roleIds: [],
      ownerUid: randomUUID(),
      firstSecret: { description: name, expiration: inADay() },
    });

  it("says where to name the registration endpoint when discovery does not", async () => {
    const { issuer } = registrationSetup({ issuerUrl: closed.issuerUrl }, rotorNs.name);
    const check = await issuer.check();
    expect(check).toMatchObject({ ok: false, reason: "NoRegistrationEndpoint" });
    expect(check.message).toContain("spec.oauth2.registrationEndpoint");
  });

  it("reports a registration the server refuses, without the initial access token, and keeps no intent", async () => {
    const setup = registrationSetup(
      {
        issuerUrl: closed.issuerUrl,
        registrationEndpoint: `${closed.publicUrl}/oauth2/register`,
        initialAccessToken: { secretRef: { name: "registration" } },
      },
      rotorNs.name,
      { secretNamespace: teamNs.name },
    );
    const check = await setup.issuer.check();
    expect(check).toMatchObject({ ok: true, reason: "Reachable" });
    expect(check.message).toContain("the initial access token is readable");

    const group = randomUUID();
    const name = marked("refused", randomUUID(), "r1");
    const refused = await thrown(create(setup, group, name));
    expect(refused).toBeInstanceOf(IssuerError);
    expect((refused as IssuerError).kind).toBe("Rejected");
    expect(refused.message).toContain("404");
    expect(refused.message).toContain("dynamic client registration is not enabled");
    expect(refused.message).not.toContain(INITIAL_ACCESS_TOKEN);
    expect((await setup.store.read(group))?.entries).toEqual([]);
    expect(await listClients(closed.adminUrl, name)).toEqual([]);
  });

  it("reports an initial access token it cannot read", async () => {
    const setup = registrationSetup(
      { issuerUrl: hydra.issuerUrl, initialAccessToken: { secretRef: { name: "missing" } } },
      rotorNs.name,
      { secretNamespace: teamNs.name },
    );
    const check = await setup.issuer.check();
    expect(check).toMatchObject({ ok: false, reason: "CredentialsUnavailable" });
    expect(check.message).toContain(`Secret ${teamNs.name}/missing does not exist`);
    const refused = await thrown(create(setup, randomUUID(), "no token"));
    expect(refused.message).toContain(`Secret ${teamNs.name}/missing does not exist`);
  });

  it("refuses a discovery that names its token endpoint on another origin, and registers nothing", async () => {
    // Hydra's issuer is 127.0.0.1: asked as localhost, it names endpoints on another origin.
    const asLocalhost = hydra.issuerUrl.replace("127.0.0.1", "localhost");
    const setup = registrationSetup({ issuerUrl: asLocalhost }, rotorNs.name);
    const check = await setup.issuer.check();
    expect(check).toMatchObject({ ok: false, reason: "ForeignTokenEndpoint" });
    expect(check.message).toContain(hydra.publicUrl);
    expect(check.message).toContain("--allow-foreign-token-endpoints");
    const name = marked("foreign", randomUUID(), "f1");
    const refused = await thrown(create(setup, randomUUID(), name));
    expect(refused).toBeInstanceOf(UrlRefused);
    expect(await listClients(hydra.adminUrl, name)).toEqual([]);
    expect(await setup.issuer.verify("someone", "secret")).toMatchObject({ ok: false, permanent: false });

    // Rotor's flag lifts the rule for the whole of Rotor.
    const allowed = registrationSetup({ issuerUrl: asLocalhost }, rotorNs.name, {
      urls: { ...STRICT, allowForeignTokenEndpoint: true },
    });
    expect(await allowed.issuer.check()).toMatchObject({ ok: true, reason: "Reachable" });
  });

  it("refuses a registration endpoint on another origin, and plain http to another host", async () => {
    const foreign = registrationSetup(
      { issuerUrl: hydra.issuerUrl, registrationEndpoint: `${closed.publicUrl}/oauth2/register` },
      rotorNs.name,
    );
    const check = await foreign.issuer.check();
    expect(check).toMatchObject({ ok: false, reason: "ForeignTokenEndpoint" });
    expect(check.message).toContain("spec.oauth2.registrationEndpoint");

    const plain = registrationSetup({ issuerUrl: "http://hydra.example.invalid" }, rotorNs.name);
    const insecure = await plain.issuer.check();
    expect(insecure).toMatchObject({ ok: false, reason: "InsecureUrl" });
    expect(insecure.message).toContain("spec.oauth2.issuerUrl uses plain http to hydra.example.invalid");
  });
});
