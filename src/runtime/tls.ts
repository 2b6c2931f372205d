/**
 * Where an HTTPS server's certificate comes from: a `CertificateSource` gives the current
 * certificate and key (PEM), tells when they change, and knows the CA bundle clients should
 * trust. `CertificateFiles` reads them from files, e.g. a cert-manager Secret mounted as a
 * volume.
 *
 * The files are read again every `refreshMs` and compared by content hash: the kubelet swaps a
 * Secret volume's files through a symlink, which inotify-based watching misses. A new pair is
 * used only once it is a usable pair (the key belongs to the certificate, OpenSSL accepts both);
 * a half-written or corrupt pair is logged and the previous certificate stays in use.
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import { describeError, type Logger } from "./log.ts";

export interface ServingCertificate {
  /** PEM: the certificate, possibly followed by intermediates. */
  cert: string;
  /** PEM: its private key. */
  key: string;
}

export interface CertificateSource {
  current(): ServingCertificate;
  /** Called with each new certificate (or CA bundle) once it has been checked. */
  onChange(listener: (certificate: ServingCertificate) => void): void;
  /** The CA certificates (PEM) that clients should trust for this certificate, if known. */
  caBundle(): string | undefined;
  stop(): void;
}

/** Why `cert` and `key` are not a usable serving pair, or undefined when they are. */
export function pairProblem(cert: string, key: string): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    return "the certificate is not a PEM X.509 certificate";
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    return "the key is not a PEM private key";
  }
  if (!certificate.checkPrivateKey(privateKey)) return "the key does not belong to the certificate";
  try {
    createSecureContext({ cert, key });
  } catch {
    return "OpenSSL refuses the certificate and key";
  }
  return undefined;
}

/** The PEM certificates in a bundle, or undefined when any block is not one. */
export function bundleProblem(bundle: string): string | undefined {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return "holds no PEM certificate";
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      return "holds a block that is not a certificate";
    }
  }
  return undefined;
}

export interface CertificateFilesOptions {
  certFile: string;
  keyFile: string;
  /** The CA bundle to hand to clients (e.g. cert-manager's ca.crt), if any. */
  caFile?: string;
  refreshMs: number;
  log: Logger;
}

interface Loaded {
  certificate: ServingCertificate;
  caBundle: string | undefined;
  hash: string;
}

export class CertificateFiles implements CertificateSource {
  private readonly options: CertificateFilesOptions;
  private readonly listeners: ((certificate: ServingCertificate) => void)[] = [];
  private loaded: Loaded | undefined;
  /** The hash of the last content refused, so a bad pair is logged once, not every refresh. */
  private refusedHash: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: CertificateFilesOptions) {
    this.options = options;
  }

  /** Reads the files; a pair that is unusable at start stops Rotor with the reason. */
  async start(): Promise<void> {
    const read = await this.read();
    const problem = this.problem(read);
    if (problem) throw new Error(`--tls-cert-file/--tls-key-file: ${problem}`);
    this.loaded = read;
    this.describe("serving the token endpoint with the certificate from files", read);
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  current(): ServingCertificate {
    if (!this.loaded) throw new Error("the certificate files are not loaded yet");
    return this.loaded.certificate;
  }

  caBundle(): string | undefined {
    return this.loaded?.caBundle;
  }

  onChange(listener: (certificate: ServingCertificate) => void): void {
    this.listeners.push(listener);
  }

  /** Reads the files again and switches to a new, usable pair; anything else keeps the old one. */
  async refresh(): Promise<void> {
    let read: Loaded;
    try {
      read = await this.read();
    } catch (error) {
      this.options.log.warn(
        { error: describeError(error) },
        "could not read the certificate files; serving the certificate held",
      );
      return;
    }
    if (read.hash === this.loaded?.hash || read.hash === this.refusedHash) return;
    const problem = this.problem(read);
    if (problem) {
      this.refusedHash = read.hash;
      this.options.log.error(
        { certFile: this.options.certFile, keyFile: this.options.keyFile, problem },
        "the certificate files changed to something unusable; serving the certificate held",
      );
      return;
    }
    this.loaded = read;
    this.refusedHash = undefined;
    for (const listener of this.listeners) listener(read.certificate);
    this.describe("the certificate files changed: serving the new certificate", read);
  }

  private problem(read: Loaded): string | undefined {
    const pair = pairProblem(read.certificate.cert, read.certificate.key);
    if (pair) return pair;
    if (read.caBundle !== undefined) {
      const bundle = bundleProblem(read.caBundle);
      if (bundle) return `the CA file ${bundle}`;
    }
    return undefined;
  }

  private async read(): Promise<Loaded> {
    const { certFile, keyFile, caFile } = this.options;
    const [cert, key, caBundle] = await Promise.all([
      readFile(certFile, "utf8"),
      readFile(keyFile, "utf8"),
      caFile ? readFile(caFile, "utf8") : undefined,
    ]);
    const hash = createHash("sha256")
      .update(cert)
      .update("\0")
      .update(key)
      .update("\0")
      .update(caBundle ?? "")
      .digest("hex");
    return { certificate: { cert, key }, caBundle, hash };
  }

  private describe(message: string, read: Loaded): void {
    const certificate = new X509Certificate(read.certificate.cert);
    this.options.log.info(
      {
        subject: certificate.subject,
        notAfter: certificate.validTo,
        fingerprint: certificate.fingerprint256,
      },
      message,
    );
  }
}
