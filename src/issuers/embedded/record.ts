/**
 * A client of the embedded issuer as its registry stores it (one Secret per client, registry.ts):
 * the client, its owner, and for each secret its id, description, expiration and a SHA-256 hash
 * of the value — never the value. Each value is 32 random bytes, so a fast hash is enough.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { isoSeconds } from "../../api/duration.ts";
import { IssuerError, type IssuerSecret, type MintedSecret, type SecretRequest } from "../issuer.ts";

export const MAX_SECRETS_PER_CLIENT = 10;
const DATA_KEY = "client.json";

export interface StoredSecret extends IssuerSecret {
  createdAt: string;
  /** base64url(SHA-256(value)). */
  hash: string;
}

export interface ClientRecord {
  clientId: string;
  name: string;
  /** The ClientCredential (uid) that owns the client: the one it was created for or first claimed it. */
  ownerUid?: string;
  createdAt: string;
  nextSecretId: number;
  secrets: StoredSecret[];
}

export const hashSecret = (value: string) => createHash("sha256").update(value, "utf8").digest("base64url");

export function clientSecretName(clientId: string): string {
  return `rotor-client-${clientId.toLowerCase()}`;
}

export function decodeRecord(secret: V1Secret | undefined): ClientRecord | undefined {
  const raw = secret?.data?.[DATA_KEY];
  if (!raw) return undefined;
  try {
    const record = JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as ClientRecord;
    return typeof record.clientId === "string" && Array.isArray(record.secrets) ? record : undefined;
  } catch {
    return undefined;
  }
}

export function encode(record: ClientRecord): Record<string, string> {
  return { [DATA_KEY]: Buffer.from(JSON.stringify(record)).toString("base64") };
}

/** Finds the unexpired secret whose hash matches, comparing every candidate in constant time. */
export function matchSecret(record: ClientRecord, candidate: string, now: Date): StoredSecret | undefined {
  const candidateHash = Buffer.from(hashSecret(candidate), "base64url");
  let found: StoredSecret | undefined;
  for (const secret of record.secrets) {
    const stored = Buffer.from(secret.hash, "base64url");
    const equal = stored.length === candidateHash.length && timingSafeEqual(stored, candidateHash);
    if (equal && Date.parse(secret.expiration) > now.getTime()) found = secret;
  }
  return found;
}

/** Adds a freshly generated secret to the record and returns it with its value. */
export function addSecret(record: ClientRecord, request: SecretRequest, now: Date): MintedSecret {
  if (record.secrets.length >= MAX_SECRETS_PER_CLIENT) {
    throw new IssuerError(
      "SlotsExhausted",
      `client ${record.clientId} already has ${MAX_SECRETS_PER_CLIENT} secrets, the most it may have`,
    );
  }
  const value = randomBytes(32).toString("base64url");
  const id = String(record.nextSecretId++);
  const expiration = isoSeconds(request.expiration);
  record.secrets.push({
    id,
    description: request.description,
    expiration,
    createdAt: isoSeconds(now),
    hash: hashSecret(value),
  });
  return { id, description: request.description, expiration, value };
}
