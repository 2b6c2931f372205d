/** spec.ocs.namedClients: which existing clients a namespace may name, row by row. */
import { describe, expect, it } from "vitest";
import type { CredentialIssuerSpec } from "../../../src/api/issuer.ts";
import {
  administratorRefusal,
  type Naming,
  namedClientRefusal,
} from "../../../src/controllers/issuer/named-clients.ts";

type Ocs = NonNullable<CredentialIssuerSpec["ocs"]>;
type Rules = NonNullable<Ocs["namedClients"]>;

const A = "3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91";
const B = "5d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a";

const admin = (namedClients?: Rules): Ocs => ({
  url: "https://uswe.datahub.connect.aveva.com",
  tenantId: "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
  auth: {
    clientCredentials: {
      secretRef: { name: "adh", clientIdKey: "client_id", clientSecretKey: "client_secret" },
    },
  },
  namedClients,
});
const self = (namedClients?: Rules): Ocs => ({ ...admin(namedClients), auth: { self: {} } });

const naming = (clientId: string, namespace = "plant-a", labels: Record<string, string> = {}): Naming => ({
  issuer: "ClusterCredentialIssuer adh",
  clientId,
  namespace,
  namespaceLabels: labels,
});

describe("namedClientRefusal", () => {
  it.each<{ row: string; ocs: Ocs; naming: Naming; allowed: boolean }>([
    {
      row: "administrator issuer, no list: no named client",
      ocs: admin(),
      naming: naming(A),
      allowed: false,
    },
    {
      row: "administrator issuer, empty list: no named client",
      ocs: admin([]),
      naming: naming(A),
      allowed: false,
    },
    {
      row: "listed for the namespace",
      ocs: admin([{ clientIds: [A], namespaces: ["plant-a"] }]),
      naming: naming(A),
      allowed: true,
    },
    {
      row: "listed in another case",
      ocs: admin([{ clientIds: [A.toUpperCase()], namespaces: ["plant-a"] }]),
      naming: naming(A),
      allowed: true,
    },
    {
      row: "listed for another namespace",
      ocs: admin([{ clientIds: [A], namespaces: ["plant-b"] }]),
      naming: naming(A),
      allowed: false,
    },
    {
      row: "another client listed for the namespace",
      ocs: admin([{ clientIds: [B], namespaces: ["plant-a"] }]),
      naming: naming(A),
      allowed: false,
    },
    {
      row: "listed for namespaces with a label the namespace has",
      ocs: admin([{ clientIds: [A], namespaceSelector: { matchLabels: { team: "historian" } } }]),
      naming: naming(A, "plant-a", { team: "historian" }),
      allowed: true,
    },
    {
      row: "listed for namespaces with a label the namespace lacks",
      ocs: admin([{ clientIds: [A], namespaceSelector: { matchLabels: { team: "historian" } } }]),
      naming: naming(A, "plant-a", { team: "orders" }),
      allowed: false,
    },
    {
      row: "listed for every namespace ({} selector)",
      ocs: admin([{ clientIds: [A], namespaceSelector: {} }]),
      naming: naming(A, "anyone"),
      allowed: true,
    },
    {
      row: "a CredentialIssuer's rule (no namespaces) covers its namespace",
      ocs: admin([{ clientIds: [A] }]),
      naming: naming(A),
      allowed: true,
    },
    { row: "auth.self, no list: any client", ocs: self(), naming: naming(A), allowed: true },
    {
      row: "auth.self with a list: only what it lists",
      ocs: self([{ clientIds: [B], namespaces: ["plant-a"] }]),
      naming: naming(A),
      allowed: false,
    },
  ])("$row", ({ ocs, naming, allowed }) => {
    expect(namedClientRefusal(ocs, naming) === undefined).toBe(allowed);
  });

  it("says what to change", () => {
    expect(namedClientRefusal(admin(), naming(A))).toBe(
      `ClusterCredentialIssuer adh lets ClientCredentials use only clients Rotor creates for them (its spec.ocs.namedClients lists none): remove spec.clientId so that Rotor creates a client (in a new ClientCredential: clientId is immutable), or ask the issuer's owner to list client ${A} for namespace plant-a in spec.ocs.namedClients`,
    );
    expect(namedClientRefusal(admin([{ clientIds: [B], namespaces: ["plant-a"] }]), naming(A))).toContain(
      `does not list client ${A} for namespace plant-a in spec.ocs.namedClients`,
    );
    expect(administratorRefusal(naming(A))).toContain(
      "spec.clientId names the administrator client that ClusterCredentialIssuer adh authenticates as",
    );
  });
});
