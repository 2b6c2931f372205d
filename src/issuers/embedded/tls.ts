/**
 * Where the token endpoint's certificate comes from (README "The embedded issuer"): files given
 * by flags (e.g. a mounted cert-manager Secret), else the self-managed CA in a Secret. Plain
 * HTTP only when asked for by `--token-endpoint-insecure-http`.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../runtime/log.ts";
import { CertificateFiles, type CertificateSource } from "../../runtime/tls.ts";
import { DEFAULT_CA_VALIDITY_MS, DEFAULT_SERVING_VALIDITY_MS } from "./authority.ts";
import { SelfManagedCertificate } from "./tls-secret.ts";

export interface EndpointTlsOptions {
  insecureHttp: boolean;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** The public issuer URL, if given: its host is named in the self-managed certificate. */
  issuerUrl?: string;
  identity: string;
  log: Logger;
  /** How often files or the Secret are read again. */
  refreshMs?: number;
  /** The token server: it serves the CA and certificate the controller keeps, and writes none. */
  readOnly?: boolean;
}

/** The names a self-managed serving certificate carries: the public URL's host and loopback. */
export function servingHosts(issuerUrl: string | undefined): string[] {
  const hosts = ["localhost", "127.0.0.1"];
  if (issuerUrl) {
    const host = new URL(issuerUrl).hostname.replace(/^\[(.*)\]$/, "$1");
    if (!hosts.includes(host)) hosts.unshift(host);
  }
  return hosts;
}

/** The token endpoint's certificate source, started; undefined for plain HTTP. */
export async function endpointCertificate(
  kc: KubeConfig,
  namespace: string,
  options: EndpointTlsOptions,
): Promise<CertificateSource | undefined> {
  const { certFile, keyFile, caFile, log } = options;
  const refreshMs = Math.max(1000, options.refreshMs ?? 30_000);
  if (options.insecureHttp) {
    if (certFile || keyFile)
      throw new Error("--token-endpoint-insecure-http and --tls-cert-file exclude each other");
    log.warn(
      "the token endpoint serves plain HTTP (--token-endpoint-insecure-http): client secrets cross the network unencrypted",
    );
    return undefined;
  }
  if (certFile || keyFile || caFile) {
    if (!certFile || !keyFile) throw new Error("--tls-cert-file and --tls-key-file go together");
    const files = new CertificateFiles({ certFile, keyFile, caFile, refreshMs, log });
    await files.start();
    return files;
  }
  const selfManaged = new SelfManagedCertificate(kc, namespace, {
    log,
    identity: options.identity,
    policy: {
      caValidityMs: DEFAULT_CA_VALIDITY_MS,
      servingValidityMs: DEFAULT_SERVING_VALIDITY_MS,
      hosts: servingHosts(options.issuerUrl),
    },
    refreshMs,
    readOnly: options.readOnly,
  });
  await selfManaged.start();
  return selfManaged;
}
