/**
 * The zod schemas are what Rotor parses objects with at run time: they must apply the same
 * defaults and refuse the same input as the API server does with the generated CRDs.
 */
import { describe, expect, it } from "vitest";
import { clientCredentialSpec } from "../../../src/api/clientcredential.ts";
import { clusterCredentialIssuerSpec, credentialIssuerSpec } from "../../../src/api/issuer.ts";

describe("ClientCredential spec", () => {
  it("fills in the contract's defaults", () => {
    expect(clientCredentialSpec.parse({ description: "x" })).toEqual({
      description: "x",
      keys: { clientId: "client_id", clientSecret: "client_secret", tokenUrl: "token_url", caCert: "ca.crt" },
      validity: "2160h",
      maxSecrets: 10,
      rollout: { strategy: "Restart", timeout: "1h" },
      gracePeriod: "5m",
      deletionPolicy: "Revoke",
    });
  });

  it.each([
    [{ description: "" }, "description must not be empty"],
    [{ description: "x".repeat(201) }, "description must be at most 200 characters"],
    [{ description: "x", clientId: "nope" }, "clientId must be a GUID"],
    [{ description: "x", validity: "abc" }, "validity must be a Go duration"],
    [{ description: "x", maxSecrets: 11 }, "expected number to be <=10"],
    [{ description: "x", rollout: { strategy: "Sometimes" } }, "Invalid option"],
    [{ description: "x", secretName: "Bad_Name" }, "secretName must be a lowercase DNS subdomain"],
  ])("refuses %j", (spec, message) => {
    const result = clientCredentialSpec.safeParse(spec);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join("\n")).toContain(message);
  });
});

describe("issuer specs", () => {
  it("default the embedded issuer's token lifetime", () => {
    expect(credentialIssuerSpec.parse({ embedded: {} })).toEqual({ embedded: { accessTokenLifetime: "1h" } });
  });

  it("default the admin secret's keys", () => {
    const spec = clusterCredentialIssuerSpec.parse({
      ocs: {
        url: "https://uswe.datahub.connect.aveva.com",
        tenantId: "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
        auth: { clientCredentials: { secretRef: { name: "adh-admin" } } },
      },
    });
    expect(spec.ocs?.auth.clientCredentials?.secretRef).toEqual({
      name: "adh-admin",
      clientIdKey: "client_id",
      clientSecretKey: "client_secret",
    });
  });

  const ocs = (namedClients: unknown) => ({
    ocs: {
      url: "https://uswe.datahub.connect.aveva.com",
      tenantId: "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
      auth: { clientCredentials: { secretRef: { name: "adh-admin" } } },
      namedClients,
    },
  });
  const A = "3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91";

  it.each<
    [string, typeof credentialIssuerSpec | typeof clusterCredentialIssuerSpec, unknown, string | undefined]
  >([
    ["a CredentialIssuer's rule without namespaces", credentialIssuerSpec, [{ clientIds: [A] }], undefined],
    [
      "a CredentialIssuer's rule with namespaces",
      credentialIssuerSpec,
      [{ clientIds: [A], namespaces: ["plant-a"] }],
      "a CredentialIssuer serves only its own namespace",
    ],
    [
      "a ClusterCredentialIssuer's rule with namespaces",
      clusterCredentialIssuerSpec,
      [{ clientIds: [A], namespaces: ["plant-a"] }],
      undefined,
    ],
    [
      "a ClusterCredentialIssuer's rule with a selector",
      clusterCredentialIssuerSpec,
      [{ clientIds: [A], namespaceSelector: {} }],
      undefined,
    ],
    [
      "a ClusterCredentialIssuer's rule that says no namespaces",
      clusterCredentialIssuerSpec,
      [{ clientIds: [A] }],
      "needs exactly one of namespaces or namespaceSelector",
    ],
    [
      "a ClusterCredentialIssuer's rule that says both",
      clusterCredentialIssuerSpec,
      [{ clientIds: [A], namespaces: ["plant-a"], namespaceSelector: {} }],
      "needs exactly one of namespaces or namespaceSelector",
    ],
    ["a client id that is not a GUID", credentialIssuerSpec, [{ clientIds: ["admin"] }], "must be a GUID"],
    [
      "a rule without client ids",
      credentialIssuerSpec,
      [{ clientIds: [] }],
      "expected array to have >=1 items",
    ],
  ])("namedClients: %s", (_, schema, namedClients, message) => {
    const result = schema.safeParse(ocs(namedClients));
    expect((result.error?.issues ?? []).map((i) => i.message).join("\n")).toContain(message ?? "");
    expect(result.success).toBe(message === undefined);
  });
});
