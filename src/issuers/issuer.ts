/**
 * What Rotor needs from an identity provider. One implementation per folder
 * (`embedded`, `ocs`, `oauth2`); the controllers know nothing else about issuers.
 */
import type { GrantedRole } from "../api/issuer.ts";

/** A secret as the issuer lists it: never with its value. */
export interface IssuerSecret {
  id: string;
  description: string;
  /** ISO time; every secret expires. */
  expiration: string;
}

/** A newly minted secret: the only moment its value exists outside the issuer's hash. */
export interface MintedSecret extends IssuerSecret {
  value: string;
  /**
   * The client to log in with, where the issuer registers a client per secret; absent: the
   * ClientCredential's client.
   */
  clientId?: string;
}

export interface SecretRequest {
  description: string;
  expiration: Date;
}

export interface ClientRequest {
  clientId: string;
  name: string;
  roleIds: string[];
  /** The ClientCredential the client is created for: recorded at the issuer as its owner. */
  ownerUid: string;
  /** OCS creates a client together with its first secret; so does the embedded issuer. */
  firstSecret: SecretRequest;
}

/** `"Tenant Member" (id), "Readers" (id)`: roles in messages and events. */
export function describeRoles(roles: GrantedRole[]): string {
  return roles.map((r) => `"${r.name}" (${r.id})`).join(", ");
}

export type VerifyResult = { ok: true } | { ok: false; permanent: boolean; reason: string };

/** Errors an issuer reports in terms the controller acts on. */
export class IssuerError extends Error {
  readonly kind: "SlotsExhausted" | "ClientNotFound" | "ClientExists" | "Unavailable" | "Rejected";

  constructor(kind: IssuerError["kind"], message: string) {
    super(message);
    this.name = "IssuerError";
    this.kind = kind;
  }
}

export interface Issuer {
  /** The token endpoint workloads use, written into the target Secret. */
  readonly tokenUrl: string | undefined;
  /** The CA bundle (PEM) that workloads need to trust the token endpoint, where Rotor serves it. */
  readonly caBundle?: string | undefined;
  /**
   * Whether a client named in spec.clientId that does not exist is created (the embedded
   * issuer, whose clients exist only through Rotor) or reported (OCS: a mistyped id must not
   * make a stray client in a tenant).
   */
  readonly createsNamedClients: boolean;
  /**
   * Whether each secret is a client of its own (OAuth2 servers with client registration): the
   * ClientCredential's client id names a group of clients, and MintedSecret.clientId is the
   * one to log in with.
   */
  readonly clientPerSecret?: boolean;
  /** The longest description the issuer accepts. */
  readonly maxDescriptionLength: number;
  /**
   * Whether the issuer can record an owner for a client that already exists, with a
   * compare-and-swap (`claimClient`); otherwise an owner is recorded only when Rotor creates it.
   */
  readonly recordsClaims: boolean;
  /** The uid of the ClientCredential recorded as the client's owner, if any. */
  clientOwner(clientId: string): Promise<string | undefined>;
  /**
   * Where the issuer can be asked which client a ClientCredential owns (the embedded issuer's
   * registry): Rotor need not record the id it chose before creating the client.
   */
  clientOwnedBy?(ownerUid: string): string | undefined;
  /**
   * Records `ownerUid` as the owner unless another owner is recorded already; returns the owner
   * afterwards (undefined where the issuer cannot record one).
   */
  claimClient(clientId: string, ownerUid: string): Promise<string | undefined>;
  /** Clears the recorded owner if it is `ownerUid` (a named client let go at deletion). */
  releaseClient(clientId: string, ownerUid: string): Promise<void>;
  /**
   * Where clients have roles (OCS): the roles a client created for `requested` gets, checked
   * against the tenant and the issuer's rules; an IssuerError says what is wrong.
   */
  clientRoles?(requested: string[]): Promise<GrantedRole[]>;
  /** Creates the client with its first secret; IssuerError ClientExists when the id is taken. */
  createClient(request: ClientRequest): Promise<MintedSecret>;
  deleteClient(clientId: string): Promise<void>;
  listSecrets(clientId: string): Promise<IssuerSecret[]>;
  /** IssuerError SlotsExhausted at the issuer's limit. */
  mintSecret(clientId: string, request: SecretRequest): Promise<MintedSecret>;
  /**
   * Idempotent: revoking a secret that is gone succeeds. Returns why the secret may still be
   * live at the issuer, where Rotor could not make sure (a registration whose answer was lost).
   */
  revokeSecret(clientId: string, secretId: string): Promise<string | undefined>;
  /** Asks the token endpoint for a token with this secret (client_credentials grant). */
  verify(clientId: string, secret: string): Promise<VerifyResult>;
}
