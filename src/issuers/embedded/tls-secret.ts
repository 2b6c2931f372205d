/**
 * The token endpoint's self-managed certificate: a CA and a serving certificate kept in the
 * Secret `rotor-embedded-tls` in Rotor's namespace, so that every replica serves the same
 * certificate and workloads trust one CA bundle. What the Secret should hold and when it
 * rotates is decided in authority.ts; this file reads and writes it (compare-and-swap, so
 * replicas that race agree on one state) and re-reads it every `refreshMs`, which is how a
 * replica learns of a renewal another made, and how a damaged Secret is repaired.
 *
 * An unusable Secret is reported (an error log line and a `ServingCertificateReplaced` Warning
 * event on the Secret, which say what was wrong but never what it held) and replaced, with what
 * this replica already serves when it can; it never stops Rotor from serving.
 */
import { X509Certificate } from "node:crypto";
import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import { describeError, type Logger } from "../../runtime/log.ts";
import type { CertificateSource, ServingCertificate } from "../../runtime/tls.ts";
import {
  type AuthorityPlan,
  type AuthorityPolicy,
  type AuthorityState,
  caBundle,
  encodeAuthority,
  parseAuthority,
  planAuthority,
} from "./authority.ts";
import { KeptSecret } from "./kept-secret.ts";

export const TLS_SECRET = "rotor-embedded-tls";

export interface SelfManagedOptions {
  log: Logger;
  /** This replica's name, for events. */
  identity: string;
  policy: AuthorityPolicy;
  /** How often the Secret is read again (default a minute). */
  refreshMs?: number;
  now?: () => Date;
  /**
   * The token server (src/component.ts) never writes: it serves what the controller keeps in
   * the Secret, and goes on serving what it holds while the Secret is missing or damaged.
   */
  readOnly?: boolean;
}

export class SelfManagedCertificate implements CertificateSource {
  private readonly secret: KeptSecret;
  private readonly namespace: string;
  private readonly options: SelfManagedOptions;
  private readonly now: () => Date;
  private readonly listeners: ((certificate: ServingCertificate) => void)[] = [];
  private state: AuthorityState | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, namespace: string, options: SelfManagedOptions) {
    this.secret = new KeptSecret(kc, namespace, {
      name: TLS_SECRET,
      contents: "CA and certificate",
      log: options.log,
      identity: options.identity,
    });
    this.namespace = namespace;
    this.options = options;
    this.now = options.now ?? (() => new Date());
  }

  /** Loads (or creates, or repairs) the CA and certificate; then keeps them fresh. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.options.log.warn(
          { error: describeError(error) },
          `could not re-read the Secret ${TLS_SECRET}; serving the certificate held`,
        ),
      );
    }, this.options.refreshMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  current(): ServingCertificate {
    if (!this.state) throw new Error("the serving certificate is not loaded yet");
    return this.state.serving;
  }

  caBundle(): string | undefined {
    return this.state ? caBundle(this.state) : undefined;
  }

  onChange(listener: (certificate: ServingCertificate) => void): void {
    this.listeners.push(listener);
  }

  /** Reads the Secret, decides, writes if needed; on a lost race, reads the winner's state. */
  refresh(): Promise<void> {
    return this.secret.settle(() => this.attempt(), this.options.readOnly);
  }

  private async attempt(): Promise<true | undefined> {
    const stored = await this.secret.read();
    if (this.options.readOnly) return this.follow(stored?.data);
    const plan = await planAuthority(stored?.data, this.state, this.now(), this.options.policy);
    if (plan.write) {
      // Another replica wrote first: read and use theirs.
      if (!(await this.secret.writeUnlessRaced(stored, encodeAuthority(plan.state)))) return undefined;
      if (plan.problems.length > 0) this.report(stored, plan);
      if (plan.changes.length > 0)
        this.options.log.info({ changes: plan.changes }, "updated the token endpoint's CA and certificate");
    }
    this.use(plan.state);
    return true;
  }

  /** Read-only: the stored CA and certificate as they are, never one of its own making. */
  private follow(data: Record<string, string> | undefined): true | undefined {
    const { ca, next, serving } = parseAuthority(data);
    if (ca && serving) {
      this.use({ ca, next, serving });
      return true;
    }
    if (!this.state) return undefined; // nothing to serve with yet: try again
    this.options.log.warn(
      { secret: `${this.namespace}/${TLS_SECRET}` },
      "the TLS Secret is missing or unusable; serving the certificate held until the controller repairs it",
    );
    return true;
  }

  /** Takes a state; listeners hear of a new serving certificate or a new CA bundle. */
  private use(state: AuthorityState): void {
    const before = this.state;
    this.state = state;
    if (!before || (before.serving.cert === state.serving.cert && caBundle(before) === caBundle(state)))
      return;
    for (const listener of this.listeners) listener(state.serving);
    if (before.serving.cert === state.serving.cert) return;
    const cert = new X509Certificate(state.serving.cert);
    this.options.log.info(
      { notAfter: cert.validTo, fingerprint: cert.fingerprint256 },
      "serving the token endpoint with a new certificate",
    );
  }

  private report(stored: V1Secret | undefined, plan: AuthorityPlan): void {
    const note = `Secret ${TLS_SECRET} held unusable parts (${plan.problems.join("; ")}); Rotor ${plan.changes.join(", ") || "rewrote it"}`;
    this.secret.reportReplaced(stored, "ServingCertificateReplaced", note, plan.problems);
  }
}
