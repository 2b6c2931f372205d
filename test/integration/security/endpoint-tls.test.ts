/**
 * Point 11 of the hostile-tenant review: workloads send client secrets to the embedded token
 * endpoint, so it serves TLS only (RFC 6749 §2.3.1), with /healthz, /readyz and /metrics on a
 * plain-HTTP port of their own.
 * - Self-managed: a workload reads `token_url` and `ca.crt` from its target Secret and gets a
 *   token over HTTPS trusting only that CA; plain HTTP to the port is refused; a CA Secret
 *   damaged while Rotor runs is reported and repaired, and the workload's CA keeps working.
 * - Certificate files (as cert-manager mounts them): files swapped at run time are served
 *   without a restart; files swapped to a pair that does not fit keep the old certificate.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { CoreV1Api, EventsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueServing, type KeyPair, makeCa } from "../../../src/issuers/embedded/certificates.ts";
import { TLS_SECRET } from "../../../src/issuers/embedded/tls-secret.ts";
import { eventually, kubeConfig, testNamespace } from "../../support/cluster.ts";
import { createClientCredential, decoded, readSecret, waitForReady } from "../../support/credentials.ts";
import { OPERATOR_NAMESPACE, type RotorProcess, startRotor } from "../../support/rotor.ts";

let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;
let clientId: string;
let secret: string;
let tokenUrl: string;
let caCert: string;

interface Answer {
  status: number;
  body: string;
  /** The SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string | undefined;
}

/** One request on a connection of its own (no reuse: each sees the certificate served now). */
function send(
  url: string,
  options: { ca?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      target,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        agent: false,
        signal: AbortSignal.timeout(10_000),
        ...(secure ? { ca: options.ca } : {}),
      },
      (res) => {
        const fingerprint = secure
          ? (res.socket as TLSSocket).getPeerCertificate().fingerprint256
          : undefined;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), fingerprint }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const tokenRequest = (url: string, ca: string | undefined) =>
  send(url, {
    ca,
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`,
    },
    body: "grant_type=client_credentials",
  });

const tlsSecret = () => readSecret(OPERATOR_NAMESPACE, TLS_SECRET);

beforeAll(async () => {
  ns = await testNamespace("tls");
  rotor = await startRotor(["--tls-refresh-interval=1s", "--verify-timeout=20s"], { tls: true });
  await createClientCredential(ns.name, "svc", { rollout: { strategy: "None" } });
  const cc = await waitForReady(ns.name, "svc");
  clientId = cc.status?.clientId as string;
  const target = await readSecret(ns.name, "svc");
  secret = decoded(target, "client_secret") as string;
  tokenUrl = decoded(target, "token_url") as string;
  caCert = decoded(target, "ca.crt") as string;
});
afterAll(async () => {
  await ns?.remove();
  await rotor?.stop();
});

describe("the token endpoint with Rotor's own CA", () => {
  it("gives a workload an https token_url and the CA to trust it by; a token comes over TLS", async () => {
    expect(tokenUrl).toBe(`${rotor.url}/oauth2/token`);
    expect(tokenUrl.startsWith("https://")).toBe(true);
    expect(caCert).toContain("-----BEGIN CERTIFICATE-----");
    const answer = await tokenRequest(tokenUrl, caCert);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).access_token).toBeTruthy();
    // The CA is the one in Rotor's Secret, and nothing but it (or the next CA) is needed.
    expect(caCert).toContain((decoded(await tlsSecret(), "ca.crt") as string).trim());
    // Without that CA the certificate is not trusted: the secret is never sent.
    await expect(tokenRequest(tokenUrl, undefined)).rejects.toThrow(/certificate/i);
  });

  it("refuses plain HTTP on the token port: no token, no answer", async () => {
    const plain = tokenUrl.replace("https://", "http://");
    await expect(tokenRequest(plain, undefined)).rejects.toThrow();
  });

  it("answers probes and metrics on the metrics port only", async () => {
    expect((await send(`${rotor.metricsUrl}/healthz`)).status).toBe(200);
    expect((await send(`${rotor.metricsUrl}/readyz`)).status).toBe(200);
    const metrics = await send(`${rotor.metricsUrl}/metrics`);
    expect(metrics.body).toContain('rotor_issuer_token_requests_total{outcome="issued"}');
    expect((await send(`${rotor.url}/metrics`, { ca: caCert })).status).toBe(404);
    expect((await send(`${rotor.metricsUrl}/oauth2/token`)).status).toBe(404);
  });

  it("reports a damaged CA Secret, repairs it with the CA it serves, and keeps serving", async () => {
    const before = await tlsSecret();
    const served = (await tokenRequest(tokenUrl, caCert)).fingerprint;
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.replaceNamespacedSecret({
      namespace: OPERATOR_NAMESPACE,
      name: TLS_SECRET,
      body: {
        metadata: { name: TLS_SECRET, resourceVersion: before?.metadata?.resourceVersion },
        stringData: { "ca.crt": "not a certificate", "ca.key": "not a key", "tls.crt": "x", "tls.key": "y" },
      },
    });
    const repaired = await eventually("the CA Secret repaired", async () => {
      const now = await tlsSecret();
      return decoded(now, "ca.crt")?.includes("BEGIN CERTIFICATE") ? now : undefined;
    });
    expect(decoded(repaired, "ca.crt")).toBe(decoded(before, "ca.crt"));
    expect(decoded(repaired, "tls.crt")).toBe(decoded(before, "tls.crt"));
    expect(rotor.output()).toContain(`Secret ${TLS_SECRET} held unusable parts`);
    const events = await eventually("a ServingCertificateReplaced event", async () => {
      const found = (
        await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: OPERATOR_NAMESPACE })
      ).items.filter((e) => e.regarding?.name === TLS_SECRET && e.reason === "ServingCertificateReplaced");
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]?.type).toBe("Warning");
    expect(events[0]?.note).not.toContain("not a key");
    // The workload's CA still verifies the endpoint, which never stopped serving.
    const after = await tokenRequest(tokenUrl, caCert);
    expect(after.status).toBe(200);
    expect(after.fingerprint).toBe(served);
    expect(rotor.alive).toBe(true);
    expect(rotor.restarts).toBe(0);
  });

  it("puts a new CA into the target Secret at once (deleting the CA Secret starts over)", async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.deleteNamespacedSecret({ namespace: OPERATOR_NAMESPACE, name: TLS_SECRET });
    // Well before --consumer-resync (1h): the change of the CA wakes every ClientCredential.
    const renewed = await eventually("the new CA in the target Secret", async () => {
      const bundle = decoded(await readSecret(ns.name, "svc"), "ca.crt");
      return bundle && bundle !== caCert ? bundle : undefined;
    });
    expect(renewed).toContain((decoded(await tlsSecret(), "ca.crt") as string).trim());
    await expect(tokenRequest(tokenUrl, caCert)).rejects.toThrow(/certificate/i);
    expect((await tokenRequest(tokenUrl, renewed)).status).toBe(200);
  });
});

describe("the token endpoint with certificate files", () => {
  let dir: string;
  let files: RotorProcess;
  let first: { ca: KeyPair; serving: KeyPair };
  let second: { ca: KeyPair; serving: KeyPair };

  const pair = async () => {
    const now = new Date();
    const ca = await makeCa(now, 24 * 3600_000);
    return {
      ca,
      serving: await issueServing(ca, ["localhost", "127.0.0.1"], now, new Date(Date.now() + 3600_000)),
    };
  };
  /** Writes the files as the kubelet does: a new directory, then one atomic symlink swap. */
  let generation = 0;
  const mount = (cert: string, key: string, ca: string) => {
    const data = join(dir, `..data-${++generation}`);
    mkdirSync(data);
    writeFileSync(join(data, "tls.crt"), cert);
    writeFileSync(join(data, "tls.key"), key);
    writeFileSync(join(data, "ca.crt"), ca);
    symlinkSync(data, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  const jwks = (ca: string) => send(`${files.url}/oauth2/jwks`, { ca });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rotor-tls-files-"));
    first = await pair();
    second = await pair();
    mount(first.serving.cert, first.serving.key, first.ca.cert);
    for (const name of ["tls.crt", "tls.key", "ca.crt"]) symlinkSync(join("..data", name), join(dir, name));
    files = await startRotor(
      [
        "--identity=rotor-files",
        `--tls-cert-file=${join(dir, "tls.crt")}`,
        `--tls-key-file=${join(dir, "tls.key")}`,
        `--tls-ca-file=${join(dir, "ca.crt")}`,
        "--tls-refresh-interval=1s",
      ],
      { tls: true },
    );
  });
  afterAll(async () => {
    await files?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the certificate from the files, and the token endpoint works with it", async () => {
    expect((await jwks(first.ca.cert)).status).toBe(200);
    const answer = await tokenRequest(`${files.url}/oauth2/token`, first.ca.cert);
    expect(answer.status).toBe(200);
  });

  it("serves files swapped at run time without a restart", async () => {
    mount(second.serving.cert, second.serving.key, second.ca.cert);
    const answer = await eventually("the new certificate served", async () => {
      try {
        return await jwks(second.ca.cert);
      } catch {
        return undefined;
      }
    });
    expect(answer.status).toBe(200);
    await expect(jwks(first.ca.cert)).rejects.toThrow(/certificate|signature/i);
    expect(files.alive).toBe(true);
    expect(files.restarts).toBe(0);
    expect(files.output()).toContain("the certificate files changed: serving the new certificate");
  });

  it("keeps the old certificate when the files change to a pair that does not fit", async () => {
    const served = (await jwks(second.ca.cert)).fingerprint;
    // A certificate with another certificate's key, as a half-finished renewal could leave.
    mount(first.serving.cert, second.serving.key, first.ca.cert);
    await eventually("the bad files noticed", () =>
      files.output().includes("the certificate files changed to something unusable"),
    );
    const answer = await jwks(second.ca.cert);
    expect(answer.status).toBe(200);
    expect(answer.fingerprint).toBe(served);
    // Garbage is refused just the same.
    mount("garbage", "garbage", "garbage");
    await eventually(
      "the garbage noticed",
      () => files.output().split("the certificate files changed to something unusable").length > 2,
    );
    expect((await jwks(second.ca.cert)).fingerprint).toBe(served);
    expect(files.alive).toBe(true);
  });
});
