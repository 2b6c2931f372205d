/**
 * Point 12 of the hostile-tenant review: least privilege.
 * - The token server, the process every workload talks to, runs apart from the controller with
 *   the RBAC of deploy/rbac.yaml: it reads Secrets in Rotor's namespace and writes none
 *   anywhere. Both run as their own processes with their own service-account tokens; a
 *   ClientCredential becomes Ready (its new secret checked at the token server), a workload
 *   gets a token from the token server, and the token server follows the controller's
 *   signing-key rotations.
 * - The namespace-scoped install (deploy/namespaced/rbac.yaml, --watch-namespaces): Rotor has
 *   Secret access only where a RoleBinding grants it. A ClientCredential in a namespace that is
 *   not listed, or listed without its RoleBinding, is told so (NamespaceNotEnabled) and Rotor
 *   stays ready; one in an opted-in namespace becomes Ready, and a namespace serves as soon as
 *   its RoleBinding appears.
 */
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../hack/controlplane/controlplane.ts";
import type { KeySet } from "../../../src/issuers/embedded/keyset.ts";
import { SIGNING_KEY_SECRET } from "../../../src/issuers/embedded/signing.ts";
import { eventually, kubectl, kubectlOk, testNamespace } from "../../support/cluster.ts";
import {
  condition,
  createClientCredential,
  decoded,
  getClientCredential,
  readSecret,
  requestToken,
  waitForReady,
  waitForReason,
} from "../../support/credentials.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../../support/rotor.ts";

const CLUSTER_WIDE_RBAC = join(import.meta.dirname, "..", "..", "..", "deploy", "rbac.yaml");
const WATCHED_NAMESPACE_RBAC = join(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "deploy",
  "namespaced",
  "watched-namespace",
  "rbac.yaml",
);

type Namespace = Awaited<ReturnType<typeof testNamespace>>;

/** `kubectl auth can-i` as a service account of Rotor: "yes" or "no". */
function canI(serviceAccount: string, args: string[]): string {
  const result = kubectl([
    "auth",
    "can-i",
    `--as=system:serviceaccount:${OPERATOR_NAMESPACE}:${serviceAccount}`,
    ...args,
  ]);
  return result.stdout.trim();
}

describe("the split components over TLS, as deployed (deploy/operator.yaml)", () => {
  it("the controller keeps the CA, the token server serves with it read-only, a workload trusts ca.crt", {
    timeout: 120_000,
  }, async () => {
    const ns = await testNamespace("split-tls");
    const port = await freePort();
    const tokenUrl = `https://127.0.0.1:${port}`;
    const controller = await startRotor(["--component=controller", `--issuer-url=${tokenUrl}`], {
      tls: true,
    });
    const tokenServer = await startRotor(["--component=token-server", `--issuer-url=${tokenUrl}`], {
      serviceAccount: "rotor-token-server",
      port,
      tls: true,
    });
    try {
      // Ready means the controller verified the new secret at the token server, over TLS.
      await createClientCredential(ns.name, "svc", {});
      const cc = await waitForReady(ns.name, "svc");
      const target = await readSecret(ns.name, "svc");
      expect(decoded(target, "token_url")).toBe(`${tokenUrl}/oauth2/token`);
      const ca = decoded(target, "ca.crt") as string;
      expect(ca).toContain("BEGIN CERTIFICATE");
      const form = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: cc.status?.clientId as string,
        client_secret: decoded(target, "client_secret") as string,
      }).toString();
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${tokenUrl}/oauth2/token`,
          {
            method: "POST",
            ca,
            agent: false,
            headers: { "content-type": "application/x-www-form-urlencoded" },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end(form);
      });
      expect(status).toBe(200);
      expect(tokenServer.output()).not.toMatch(/forbidden/i);
    } finally {
      await ns.remove();
      await tokenServer.stop();
      await controller.stop();
    }
  });
});

describe("the token server apart from the controller (deploy/rbac.yaml)", () => {
  let ns: Namespace;
  let controller: RotorProcess;
  let tokenServer: RotorProcess;
  let tokenUrl: string;
  const ROTATION = "20s";

  beforeAll(async () => {
    ns = await testNamespace("split");
    const port = await freePort();
    tokenUrl = `http://127.0.0.1:${port}`;
    // The controller first: it creates the signing keys the token server only reads.
    controller = await startRotor([
      "--component=controller",
      `--issuer-url=${tokenUrl}`,
      `--signing-key-rotation=${ROTATION}`,
    ]);
    tokenServer = await startRotor(
      ["--component=token-server", `--issuer-url=${tokenUrl}`, `--signing-key-rotation=${ROTATION}`],
      { serviceAccount: "rotor-token-server", port },
    );
  });
  afterAll(async () => {
    await ns?.remove();
    await tokenServer?.stop();
    await controller?.stop();
  });

  it("makes a ClientCredential Ready through the token server, which alone serves tokens", async () => {
    await createClientCredential(ns.name, "svc", {});
    const cc = await waitForReady(ns.name, "svc");
    const target = await readSecret(ns.name, "svc");
    expect(decoded(target, "token_url")).toBe(`${tokenUrl}/oauth2/token`);
    // The controller checked the new secret at the token server before switching to it.
    const metrics = await (await fetch(`${tokenServer.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/rotor_issuer_token_requests_total\{outcome="issued"\} [1-9]/);

    const clientId = cc.status?.clientId as string;
    const answer = await requestToken(
      `${tokenUrl}/oauth2/token`,
      clientId,
      decoded(target, "client_secret") as string,
    );
    expect(answer.status).toBe(200);
    const { payload } = await jwtVerify(
      answer.body.access_token as string,
      createRemoteJWKSet(new URL(`${tokenUrl}/oauth2/jwks`)),
      { issuer: tokenUrl, audience: "rotor" },
    );
    expect(payload.sub).toBe(clientId);

    // The controller serves probes and metrics, no tokens.
    expect((await fetch(`${controller.url}/oauth2/token`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${controller.metricsUrl}/readyz`)).status).toBe(200);
  });

  it("gives the token server's identity read access to Rotor's namespace only, and no Secret writes", () => {
    const sa = "rotor-token-server";
    for (const verb of ["get", "list", "watch"])
      expect(canI(sa, [verb, "secrets", "-n", OPERATOR_NAMESPACE])).toBe("yes");
    for (const verb of ["create", "update", "patch", "delete"]) {
      expect(canI(sa, [verb, "secrets", "-n", OPERATOR_NAMESPACE])).toBe("no");
      expect(canI(sa, [verb, "secrets", "-n", ns.name])).toBe("no");
      expect(canI(sa, [verb, "secrets", "--all-namespaces"])).toBe("no");
    }
    for (const verb of ["get", "list", "watch"]) {
      expect(canI(sa, [verb, "secrets", "-n", ns.name])).toBe("no");
      expect(canI(sa, [verb, "secrets", "--all-namespaces"])).toBe("no");
    }
    expect(canI(sa, ["create", "leases.coordination.k8s.io", "-n", OPERATOR_NAMESPACE])).toBe("no");
    expect(canI(sa, ["patch", "clientcredentials.rotor.dev/status", "-n", ns.name])).toBe("no");
    expect(canI(sa, ["patch", "deployments.apps", "-n", ns.name])).toBe("no");
    // The controller keeps what it needs.
    expect(canI("rotor", ["create", "secrets", "-n", ns.name])).toBe("yes");
  });

  it("signs with the keys the controller rotates", { timeout: 120_000 }, async () => {
    const cc = await getClientCredential(ns.name, "svc");
    const target = await readSecret(ns.name, "svc");
    const current = async () =>
      (
        JSON.parse(
          decoded(await readSecret(OPERATOR_NAMESPACE, SIGNING_KEY_SECRET), "keys.json") ?? "{}",
        ) as KeySet
      ).current?.jwk.kid;
    const before = await current();
    const rotated = await eventually(
      "the controller to rotate the signing key",
      async () => {
        const kid = await current();
        return kid && kid !== before ? kid : undefined;
      },
      90_000,
      1000,
    );
    await eventually(
      "the token server to sign with the rotated key",
      async () => {
        const answer = await requestToken(
          `${tokenUrl}/oauth2/token`,
          cc?.status?.clientId as string,
          decoded(target, "client_secret") as string,
        );
        return answer.status === 200 &&
          decodeProtectedHeader(answer.body.access_token as string).kid === rotated
          ? true
          : undefined;
      },
      30_000,
      500,
    );
    expect(tokenServer.output()).toContain("the controller rotated the token signing key");
    expect(tokenServer.output()).not.toMatch(/forbidden/i);
  });
});

describe("the namespace-scoped install (deploy/namespaced/rbac.yaml)", () => {
  let optedIn: Namespace;
  let unbound: Namespace;
  let other: Namespace;
  let rotor: RotorProcess;
  const bind = (namespace: string) =>
    // The documented opt-in: the Role rotor-namespace and its RoleBinding in each namespace.
    kubectlOk(["-n", namespace, "apply", "-f", WATCHED_NAMESPACE_RBAC]);

  beforeAll(async () => {
    optedIn = await testNamespace("scoped-in");
    unbound = await testNamespace("scoped-unbound");
    other = await testNamespace("scoped-out");
    bind(optedIn.name);
    // `unbound` is listed but has no RoleBinding (not yet, or its admin deleted it).
    rotor = await startRotor([`--watch-namespaces=${optedIn.name},${unbound.name}`], {
      rbac: "deploy/namespaced/rbac.yaml",
    });
  });
  afterAll(async () => {
    await optedIn?.remove();
    await unbound?.remove();
    await other?.remove();
    await rotor?.stop();
    // Back to the cluster-wide install the other test files run with.
    kubectlOk(["apply", "--server-side", "--field-manager=rotor-install", "-f", CLUSTER_WIDE_RBAC]);
  });

  it("grants Rotor Secrets only in the namespaces that opt in", () => {
    expect(canI("rotor", ["create", "secrets", "-n", optedIn.name])).toBe("yes");
    expect(canI("rotor", ["get", "secrets", "-n", other.name])).toBe("no");
    expect(canI("rotor", ["get", "secrets", "-n", unbound.name])).toBe("no");
    expect(canI("rotor", ["list", "secrets", "--all-namespaces"])).toBe("no");
    expect(canI("rotor", ["list", "pods", "-n", other.name])).toBe("no");
    expect(canI("rotor", ["patch", "deployments.apps", "-n", other.name])).toBe("no");
  });

  it("tells a ClientCredential where it lacks access so, stays healthy, and serves the others", async () => {
    await createClientCredential(other.name, "svc", {});
    await createClientCredential(unbound.name, "svc", {});
    await createClientCredential(optedIn.name, "svc", {});

    const notListed = await waitForReason(other.name, "svc", "NamespaceNotEnabled");
    expect(condition(notListed, "Ready")?.status).toBe("False");
    expect(condition(notListed, "Ready")?.message).toContain("--watch-namespaces");
    expect(notListed.metadata?.finalizers ?? []).toEqual([]);
    const notBound = await waitForReason(unbound.name, "svc", "NamespaceNotEnabled");
    expect(condition(notBound, "Ready")?.message).toContain("RoleBinding");

    await waitForReady(optedIn.name, "svc");
    expect(decoded(await readSecret(optedIn.name, "svc"), "client_secret")).toBeTruthy();
    expect(await readSecret(other.name, "svc")).toBeUndefined();

    expect(rotor.alive).toBe(true);
    expect((await fetch(`${rotor.metricsUrl}/readyz`)).status).toBe(200);
    // The only refusals: the watch of the listed namespace without its RoleBinding.
    const refused = rotor
      .output()
      .split("\n")
      .filter((line) => line.includes("forbidden"));
    expect(refused.length).toBeGreaterThan(0);
    for (const line of refused) expect(line).toContain(`"informer":"rotor-secrets/${unbound.name}"`);
  });

  it("serves a namespace once its RoleBinding exists", { timeout: 120_000 }, async () => {
    bind(unbound.name);
    await eventually(
      "the ClientCredential in the newly bound namespace to become Ready",
      async () => condition(await getClientCredential(unbound.name, "svc"), "Ready")?.status === "True",
      90_000,
      1000,
    );
    expect((await fetch(`${rotor.metricsUrl}/readyz`)).status).toBe(200);
  });
});
