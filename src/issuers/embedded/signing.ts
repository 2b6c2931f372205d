/**
 * The key that signs the embedded issuer's access tokens (ES256), kept in a Secret in the
 * operator's namespace so that every replica signs with it and the JWKS stays stable across
 * restarts. The first replica to start creates it; the others read it.
 */
import { randomUUID } from "node:crypto";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { isConflict, isNotFound, makeClient } from "../../runtime/kube.ts";

export const SIGNING_KEY_SECRET = "rotor-embedded-signing-key";
const ALG = "ES256";

export interface SigningKey {
  kid: string;
  publicJwk: JWK;
  sign(
    claims: Record<string, unknown>,
    expiresInSeconds: number,
    issuer: string,
    audience: string,
    subject: string,
  ): Promise<string>;
}

export async function loadSigningKey(kc: KubeConfig, namespace: string): Promise<SigningKey> {
  const core = makeClient(kc, CoreV1Api);
  let privateJwk: JWK | undefined;
  try {
    const secret = await core.readNamespacedSecret({ name: SIGNING_KEY_SECRET, namespace });
    privateJwk = JSON.parse(Buffer.from(secret.data?.["key.jwk"] ?? "", "base64").toString("utf8")) as JWK;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!privateJwk) {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: ALG, use: "sig" };
    try {
      await core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name: SIGNING_KEY_SECRET, labels: { "app.kubernetes.io/managed-by": "rotor" } },
          data: { "key.jwk": Buffer.from(JSON.stringify(jwk)).toString("base64") },
        },
      });
      privateJwk = jwk;
    } catch (error) {
      if (!isConflict(error)) throw error;
      // Another replica created it first: use theirs.
      return loadSigningKey(kc, namespace);
    }
  }
  const key = await importJWK(privateJwk, ALG);
  const { d: _private, ...publicJwk } = privateJwk;
  const kid = privateJwk.kid ?? "rotor";
  return {
    kid,
    publicJwk,
    sign: (claims, expiresInSeconds, issuer, audience, subject) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, kid, typ: "at+jwt" })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(subject)
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(`${expiresInSeconds}s`)
        .sign(key),
  };
}
