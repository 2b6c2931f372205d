/**
 * The rotor.dev API on a real kube-apiserver: the CRDs install, the samples are accepted, and
 * bad input is refused by the API server itself with the message a kubectl user sees.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiextensionsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { kubeConfig, kubectl, kubectlOk, testNamespace } from "../support/cluster.ts";

const CRD_NAMES = [
  "clientcredentials.rotor.dev",
  "credentialissuers.rotor.dev",
  "clustercredentialissuers.rotor.dev",
];
const samplesDir = join(import.meta.dirname, "..", "..", "deploy", "samples");

let ns: Awaited<ReturnType<typeof testNamespace>>;
beforeAll(async () => {
  ns = await testNamespace("crds");
});
afterAll(async () => {
  await ns.remove();
  kubectl(["delete", "clustercredentialissuers", "-l", "rotor.dev/test=crds", "--ignore-not-found"]);
});

type Manifest = Record<string, unknown> & {
  spec?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
};

let nameCounter = 0;
function clientCredential(spec: Record<string, unknown>): Manifest {
  return {
    apiVersion: "rotor.dev/v1alpha1",
    kind: "ClientCredential",
    metadata: { name: `cc-${nameCounter++}` },
    spec: { description: "Test credential; used by nothing", ...spec },
  };
}

function issuer(
  kind: "CredentialIssuer" | "ClusterCredentialIssuer",
  spec: Record<string, unknown>,
): Manifest {
  return {
    apiVersion: "rotor.dev/v1alpha1",
    kind,
    metadata: { name: `issuer-${nameCounter++}`, labels: { "rotor.dev/test": "crds" } },
    spec,
  };
}

const ocs = (auth: Record<string, unknown> = { self: {} }) => ({
  url: "https://uswe.datahub.connect.aveva.com",
  tenantId: "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
  auth,
});

/** Creates through kubectl (strict server-side field validation, as users get it). */
function create(manifest: Manifest) {
  return kubectl(["create", "-n", ns.name, "-f", "-"], stringify(manifest));
}

describe("CRDs", () => {
  it("are installed and Established, with the contract's names", async () => {
    const api = kubeConfig().makeApiClient(ApiextensionsV1Api);
    for (const name of CRD_NAMES) {
      const crd = await api.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.find((c) => c.type === "Established");
      expect(established?.status, name).toBe("True");
      expect(crd.spec.names.categories).toEqual(["rotor"]);
      expect(crd.spec.versions[0]?.subresources?.status).toBeDefined();
    }
    const cc = await api.readCustomResourceDefinition({ name: "clientcredentials.rotor.dev" });
    expect(cc.spec.names.shortNames).toEqual(["cc", "clientcred"]);
  });

  it("explain the fields to a kubectl user", () => {
    const out = kubectlOk(["explain", "clientcredential.spec.validity"]);
    expect(out).toContain("Lifetime of each minted secret");
    expect(out).toContain("17520h");
    expect(kubectlOk(["explain", "cc.spec.rollout.strategy"])).toContain("Observe");
  });
});

describe("every sample manifest", () => {
  const files = readdirSync(samplesDir).filter((f) => f.endsWith(".yaml"));

  it("exists for each kind", () => {
    const kinds = new Set(
      files.flatMap((f) =>
        parseAllDocuments(readFileSync(join(samplesDir, f), "utf8")).map((d) => (d.toJS() as Manifest).kind),
      ),
    );
    expect([...kinds].sort()).toEqual(["ClientCredential", "ClusterCredentialIssuer", "CredentialIssuer"]);
  });

  it.each(files)("%s is accepted", (file) => {
    const result = kubectl(["create", "-n", ns.name, "-f", join(samplesDir, file)]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("gets the contract's defaults from the API server", () => {
    const cc = JSON.parse(kubectlOk(["get", "cc", "orders-api", "-n", ns.name, "-o", "json"]));
    expect(cc.spec).toMatchObject({
      validity: "2160h",
      maxSecrets: 10,
      gracePeriod: "5m",
      deletionPolicy: "Revoke",
      rollout: { strategy: "Restart", timeout: "1h" },
      keys: { clientId: "client_id", clientSecret: "client_secret", tokenUrl: "token_url" },
    });
    expect(cc.spec.renewBefore).toBeUndefined();
  });

  afterAll(() => {
    kubectl(["delete", "-f", samplesDir, "-n", ns.name, "--ignore-not-found", "--wait=false"]);
  });
});

const INVALID: Array<[string, Manifest, string]> = [
  ["an empty description", clientCredential({ description: "" }), "spec.description: Invalid value"],
  [
    "a 201-character description",
    clientCredential({ description: "x".repeat(201) }),
    "spec.description: Too long",
  ],
  [
    "no description",
    { ...clientCredential({}), spec: { validity: "1h" } },
    "spec.description: Required value",
  ],
  [
    "a description that is not a string",
    clientCredential({ description: 42 }),
    'spec.description: Invalid value: "integer"',
  ],
  ["a clientId that is not a GUID", clientCredential({ clientId: "not-a-guid" }), "clientId must be a GUID"],
  ["validity 0s", clientCredential({ validity: "0s" }), "validity must be between 1m and 17520h (2 years)"],
  ["validity 30s", clientCredential({ validity: "30s" }), "validity must be between 1m and 17520h (2 years)"],
  [
    "validity 20000h",
    clientCredential({ validity: "20000h" }),
    "validity must be between 1m and 17520h (2 years)",
  ],
  [
    "validity abc",
    clientCredential({ validity: "abc" }),
    "validity must be a Go duration such as 90m, 24h or 1h30m",
  ],
  [
    "renewBefore equal to validity",
    clientCredential({ validity: "2h", renewBefore: "2h" }),
    "renewBefore must be less than validity",
  ],
  [
    "renewBefore above validity",
    clientCredential({ validity: "1h", renewBefore: "90m" }),
    "renewBefore must be less than validity",
  ],
  [
    "renewBefore above the default validity",
    clientCredential({ renewBefore: "2161h" }),
    "renewBefore must be less than validity",
  ],
  ["renewBefore 10s", clientCredential({ renewBefore: "10s" }), "renewBefore must be at least 30s"],
  [
    "maxSecrets 1",
    clientCredential({ maxSecrets: 1 }),
    "spec.maxSecrets: Invalid value: 1: spec.maxSecrets in body should be greater than or equal to 2",
  ],
  [
    "maxSecrets 11",
    clientCredential({ maxSecrets: 11 }),
    "spec.maxSecrets: Invalid value: 11: spec.maxSecrets in body should be less than or equal to 10",
  ],
  [
    "an unknown rollout strategy",
    clientCredential({ rollout: { strategy: "Sometimes" } }),
    'spec.rollout.strategy: Unsupported value: "Sometimes"',
  ],
  [
    "a rollout timeout under a minute",
    clientCredential({ rollout: { timeout: "10s" } }),
    "rollout.timeout must be between 1m and 8760h",
  ],
  [
    "an unknown deletion policy",
    clientCredential({ deletionPolicy: "Forget" }),
    'spec.deletionPolicy: Unsupported value: "Forget"',
  ],
  ["an unknown field", clientCredential({ colour: "blue" }), 'unknown field "spec.colour"'],
  ["a negative gracePeriod", clientCredential({ gracePeriod: "-5m" }), "gracePeriod must be a Go duration"],
  [
    "an issuerRef of an unknown kind",
    clientCredential({ issuerRef: { kind: "Vault", name: "x" } }),
    'spec.issuerRef.kind: Unsupported value: "Vault"',
  ],
  [
    "an issuerRef without a name",
    clientCredential({ issuerRef: { kind: "CredentialIssuer" } }),
    "spec.issuerRef.name: Required value",
  ],
  [
    "a secretName that is not a DNS name",
    clientCredential({ secretName: "Bad_Name" }),
    "secretName must be a lowercase DNS subdomain",
  ],
  [
    "two keys with the same name",
    clientCredential({ keys: { clientId: "id", clientSecret: "id" } }),
    "keys.clientId, keys.clientSecret and keys.tokenUrl must be different",
  ],
  ["a roleId that is not a GUID", clientCredential({ roleIds: ["admin"] }), "roleIds[*] must be a GUID"],
  [
    "an issuer with both kinds",
    issuer("CredentialIssuer", { ocs: ocs(), embedded: {} }),
    "exactly one of spec.ocs, spec.embedded or spec.oauth2 must be set",
  ],
  [
    "an issuer with neither kind",
    issuer("CredentialIssuer", {}),
    "exactly one of spec.ocs, spec.embedded or spec.oauth2 must be set",
  ],
  [
    "a cluster issuer with neither kind",
    issuer("ClusterCredentialIssuer", { namespaceSelector: {} }),
    "exactly one of spec.ocs, spec.embedded or spec.oauth2 must be set",
  ],
  [
    "OCS auth with both methods",
    issuer("CredentialIssuer", { ocs: ocs({ self: {}, clientCredentials: { secretRef: { name: "a" } } }) }),
    "exactly one of auth.clientCredentials or auth.self must be set",
  ],
  [
    "an OCS tenantId that is not a GUID",
    issuer("CredentialIssuer", { ocs: { ...ocs(), tenantId: "acme" } }),
    "tenantId must be a GUID",
  ],
  [
    "an OCS url that is not http(s)",
    issuer("CredentialIssuer", { ocs: { ...ocs(), url: "ftp://example" } }),
    "url must be an http(s) URL",
  ],
  [
    "a namespaceSelector with a bad operator",
    issuer("ClusterCredentialIssuer", {
      embedded: {},
      namespaceSelector: { matchExpressions: [{ key: "a", operator: "Near" }] },
    }),
    'Unsupported value: "Near"',
  ],
];

describe("the API server refuses", () => {
  it("a table of at least 20 invalid manifests", () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(20);
  });

  it.each(INVALID)("%s", (_what, manifest, message) => {
    const result = create(manifest);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe("the API server refuses on update", () => {
  const apply = (manifest: Manifest) => kubectl(["apply", "-n", ns.name, "-f", "-"], stringify(manifest));
  const withSpec = (base: Manifest, spec: Record<string, unknown>): Manifest => ({
    ...base,
    spec: { ...base.spec, ...spec },
  });
  const ref = { kind: "CredentialIssuer", name: "adh-prod" };
  const guid = "3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91";

  it.each([
    [
      "changing issuerRef",
      { issuerRef: ref },
      { issuerRef: { ...ref, name: "adh-test" } },
      "issuerRef is immutable",
    ],
    ["adding issuerRef", {}, { issuerRef: ref }, "issuerRef is immutable"],
    [
      "changing a set clientId",
      { clientId: guid },
      { clientId: "11111111-2222-4333-8444-555555555555" },
      "clientId is immutable once set",
    ],
  ] as const)("%s", (_what, before, after, message) => {
    const original = clientCredential(before);
    expect(apply(original).code).toBe(0);
    const result = apply(withSpec(original, after));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it("removing a set clientId", () => {
    const original = clientCredential({ clientId: guid });
    expect(apply(original).code).toBe(0);
    const result = kubectl([
      "patch",
      "cc",
      String(original.metadata?.name),
      "-n",
      ns.name,
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/spec/clientId"}]',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("clientId is immutable once set");
  });

  it("but accepts setting a clientId that was absent, and other changes", () => {
    const original = clientCredential({});
    expect(apply(original).code).toBe(0);
    const result = apply(withSpec(original, { clientId: guid, validity: "48h", description: "Changed" }));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });
});

describe("kubectl get", () => {
  it("cc shows the contract's printer columns", () => {
    const manifest = clientCredential({});
    const name = String(manifest.metadata?.name);
    expect(create(manifest).code).toBe(0);
    const status = {
      status: {
        clientId: "3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91",
        currentSecretId: "17",
        notAfter: "2027-02-25T10:00:00Z",
        renewalTime: "2027-01-26T10:00:00Z",
        slots: { used: 3, max: 10 },
        consumers: { total: 3, updated: 2, summary: "2/3", pending: ["Deployment/ingest"] },
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Issued",
            message: "ok",
            lastTransitionTime: "2026-11-27T09:00:00Z",
          },
        ],
      },
    };
    kubectlOk([
      "patch",
      "cc",
      name,
      "-n",
      ns.name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(status),
    ]);
    const [header, row] = kubectlOk(["get", "cc", name, "-n", ns.name]).trimEnd().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual([
      "NAME",
      "READY",
      "CLIENT ID",
      "SECRET",
      "EXPIRES",
      "RENEWAL",
      "SLOTS",
      "CONSUMERS",
      "AGE",
    ]);
    expect(row?.split(/\s+/).slice(0, 8)).toEqual([
      name,
      "True",
      "3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91",
      "17",
      "2027-02-25T10:00:00Z",
      "2027-01-26T10:00:00Z",
      "3",
      "2/3",
    ]);
    const wide = kubectlOk(["get", "clientcred", name, "-n", ns.name, "-o", "wide"]);
    expect(wide.split("\n")[0]).toContain("REASON");
    expect(wide).toContain("Issued");
  });

  it("rotor lists every kind of the category", () => {
    const manifest = issuer("CredentialIssuer", { embedded: {} });
    expect(create(manifest).code).toBe(0);
    const out = kubectlOk(["get", "rotor", "-n", ns.name, "-o", "name"]);
    expect(out).toContain(`credentialissuer.rotor.dev/${manifest.metadata?.name}`);
    expect(out).toContain("clientcredential.rotor.dev/");
  });
});
