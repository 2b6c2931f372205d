/**
 * The keys that sign the embedded issuer's access tokens (ES256), kept in a Secret in the
 * operator's namespace so that every replica signs with the same key and publishes the same
 * JWKS across restarts. What the key set holds and when it rotates is decided in keyset.ts;
 * this file reads and writes the Secret (compare-and-swap, so replicas that race agree on one
 * set) and re-reads it every `refreshMs`, which is how a replica learns of a rotation another
 * replica made, and how a Secret damaged while Rotor runs is repaired.
 *
 * An unusable Secret is reported (an error log line and a Warning event on the Secret, which
 * say what was wrong but never what it held) and replaced; it never stops Rotor from starting.
 *
 * A `readOnly` holder (the token server, src/component.ts) never writes: it signs with the keys
 * the controller stored, picks up the controller's rotations on each re-read, and keeps signing
 * with the keys it holds while the Secret is missing or damaged (the controller repairs it).
 */
import { createPrivateKey, type KeyObject, randomUUID } from "node:crypto";
import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import { type JWK, SignJWT } from "jose";
import { describeError, type Logger } from "../../runtime/log.ts";
import { KeptSecret } from "./kept-secret.ts";
import {
  ALG,
  encodeKeys,
  type KeyPlan,
  type KeyPolicy,
  type KeySet,
  MAX_RETIRED,
  parseStored,
  planKeys,
  publishedKeys,
} from "./keyset.ts";

export const SIGNING_KEY_SECRET = "rotor-embedded-signing-key";
const MIN_ROTATION_MS = 10_000;

/** What the token endpoint needs: a signature and the keys that verify it. */
export interface TokenSigner {
  jwks(): JWK[];
  sign(
    claims: Record<string, unknown>,
    expiresInSeconds: number,
    issuer: string,
    audience: string,
    subject: string,
  ): Promise<string>;
}

export interface SigningKeyOptions {
  log: Logger;
  /** This replica's name, for events. */
  identity: string;
  /** How long a key signs before the next one takes over; 0: never. */
  rotateAfterMs: number;
  /** The longest lifetime of a token: a retired key is published this long (and 5 minutes more). */
  tokenLifetimeMs: number;
  /** How often the Secret is read again. Default: a minute, or a quarter of rotateAfterMs. */
  refreshMs?: number;
  /** Only read the Secret (the token server): creating, repairing and rotating are the controller's. */
  readOnly?: boolean;
  now?: () => Date;
}

export class SigningKeys implements TokenSigner {
  private readonly secret: KeptSecret;
  private readonly namespace: string;
  private readonly options: SigningKeyOptions;
  private readonly policy: KeyPolicy;
  private readonly now: () => Date;
  private keys: KeySet | undefined;
  private signingKey: KeyObject | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, namespace: string, options: SigningKeyOptions) {
    if (options.rotateAfterMs !== 0 && options.rotateAfterMs < MIN_ROTATION_MS)
      throw new Error("--signing-key-rotation must be 0s (never) or at least 10s");
    this.secret = new KeptSecret(kc, namespace, {
      name: SIGNING_KEY_SECRET,
      contents: "signing keys",
      log: options.log,
      identity: options.identity,
    });
    this.namespace = namespace;
    this.options = options;
    this.policy = {
      rotateAfterMs: options.rotateAfterMs,
      keepRetiredMs: options.tokenLifetimeMs + 5 * 60_000,
    };
    this.now = options.now ?? (() => new Date());
    if (options.rotateAfterMs > 0 && options.rotateAfterMs * MAX_RETIRED < this.policy.keepRetiredMs)
      options.log.warn(
        { keptRetiredKeys: MAX_RETIRED },
        "--signing-key-rotation is so short that retired keys leave the JWKS before every token they signed has expired",
      );
  }

  /** Loads (or creates, or repairs) the key set; then keeps it fresh in the background. */
  async start(): Promise<void> {
    await this.refresh();
    const every =
      this.options.refreshMs ??
      Math.max(
        1000,
        Math.min(60_000, this.policy.rotateAfterMs > 0 ? this.policy.rotateAfterMs / 4 : 60_000),
      );
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.options.log.warn(
          { error: describeError(error) },
          "could not re-read the signing keys; signing with the ones held",
        ),
      );
    }, every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get currentKid(): string | undefined {
    return this.keys?.current.jwk.kid;
  }

  jwks(): JWK[] {
    return this.keys ? publishedKeys(this.keys) : [];
  }

  sign(
    claims: Record<string, unknown>,
    expiresInSeconds: number,
    issuer: string,
    audience: string,
    subject: string,
  ): Promise<string> {
    const keys = this.keys;
    const key = this.signingKey;
    if (!keys || !key) throw new Error("the signing keys are not loaded yet");
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: keys.current.jwk.kid as string, typ: "at+jwt" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${expiresInSeconds}s`)
      .sign(key);
  }

  /** Reads the Secret, decides, writes if needed; on a lost race, reads the winner's set. */
  private refresh(): Promise<void> {
    return this.secret.settle(() => this.attempt(), this.options.readOnly);
  }

  private async attempt(): Promise<true | undefined> {
    const stored = await this.secret.read();
    if (this.options.readOnly) return this.follow(stored);
    const plan = planKeys(stored?.data, this.keys, this.now(), this.policy);
    if (plan.write) {
      // Another replica wrote first: read and use theirs.
      if (!(await this.secret.writeUnlessRaced(stored, encodeKeys(plan.keys)))) return undefined;
      if (plan.problems.length > 0) this.report(stored, plan);
      if (plan.rotated)
        this.options.log.info(
          { kid: plan.keys.current.jwk.kid, next: plan.keys.next.jwk.kid },
          "rotated the token signing key: the next key signs now, a new next key is published",
        );
    }
    this.use(plan.keys);
    return true;
  }

  /** Read-only: the stored set as it is; never a key of its own making (no one else would have it). */
  private follow(stored: V1Secret | undefined): true | undefined {
    const parsed = parseStored(stored?.data);
    const { current, next } = parsed;
    if (!current?.since || !next || next.jwk.kid === current.jwk.kid) {
      if (!this.keys) return undefined; // nothing to sign with yet: try again
      this.options.log.warn(
        { secret: `${this.namespace}/${SIGNING_KEY_SECRET}` },
        "the signing-key Secret is missing or unusable; signing with the keys held until the controller repairs it",
      );
      return true;
    }
    if (this.keys && this.keys.current.jwk.kid !== current.jwk.kid)
      this.options.log.info({ kid: current.jwk.kid }, "the controller rotated the token signing key");
    this.use({ current, next, retired: parsed.retired.slice(0, MAX_RETIRED) });
    return true;
  }

  private use(keys: KeySet): void {
    if (this.keys?.current.jwk.kid !== keys.current.jwk.kid || !this.signingKey)
      this.signingKey = createPrivateKey({ key: keys.current.jwk as never, format: "jwk" });
    this.keys = keys;
  }

  private report(stored: V1Secret | undefined, plan: KeyPlan): void {
    const action = {
      stored: "kept the usable signing key and replaced the rest",
      held: "restored the signing key this replica held",
      new: "made a new signing key (tokens signed with the lost one no longer verify)",
    }[plan.currentFrom];
    const note = `Secret ${SIGNING_KEY_SECRET} held unusable signing keys (${plan.problems.join("; ")}); Rotor ${action}`;
    this.secret.reportReplaced(stored, "SigningKeyReplaced", note, plan.problems);
  }
}

/** Loads the signing keys (creating or repairing the Secret as needed) and keeps them fresh. */
export async function loadSigningKey(
  kc: KubeConfig,
  namespace: string,
  options: SigningKeyOptions,
): Promise<SigningKeys> {
  const keys = new SigningKeys(kc, namespace, options);
  await keys.start();
  return keys;
}
