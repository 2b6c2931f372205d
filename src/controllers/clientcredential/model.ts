/**
 * The vocabulary of the ClientCredential controller: the ownership marker Rotor puts on every
 * secret it mints, and the shapes of what it observes (Snapshot) and decides (Plan). The labels
 * and annotations it writes are in `api/metadata.ts`.
 */
import type { ClientCredentialSpec, ClientCredentialStatus } from "../../api/clientcredential.ts";
import type { IssuerSecret } from "../../issuers/issuer.ts";
import type { Consumers, WorkloadRef } from "../rollout/consumers.ts";

/** Label values are at most 63 characters; longer names are shortened (the uid label is exact). */
export const labelValue = (text: string) =>
  text.length <= 63 ? text : text.slice(0, 63).replace(/[-_.]+$/, "");

const MARKER = /\s*\(rotor:([0-9a-f-]{36}):([0-9a-z]{1,16})\)$/;

/**
 * The issuer has no creation-time field and no labels: the description is the only handle.
 * Rotor appends `(rotor:<ClientCredential uid>:<mint id>)`, shortening the user's text so the
 * whole fits the issuer's limit, and recognises its own secrets by it after a crash.
 */
export function describeWithMarker(
  description: string,
  ownerUid: string,
  mintId: string,
  maxLength: number,
): string {
  const marker = ` (rotor:${ownerUid}:${mintId})`;
  const room = Math.max(0, maxLength - marker.length);
  const text = description.length > room ? `${description.slice(0, Math.max(0, room - 1))}…` : description;
  return `${text}${marker}`;
}

export function parseMarker(description: string): { ownerUid: string; mintId: string } | undefined {
  const match = MARKER.exec(description);
  return match ? { ownerUid: match[1] as string, mintId: match[2] as string } : undefined;
}

/** A version Secret, as Rotor reads it back. */
export interface Version {
  name: string;
  secretId: string;
  clientId: string | undefined;
  createdAt: string;
  notAfter: string;
  mintId: string | undefined;
  rotateRequest: string | undefined;
  activatedAt: string | undefined;
  supersededAt: string | undefined;
  rolledOutAt: string | undefined;
  /** Has the client secret under the configured key. */
  hasValue: boolean;
}

export type TargetState =
  | { state: "missing" }
  /** A Secret of that name that Rotor does not control: never overwritten. */
  | { state: "foreign" }
  | {
      state: "owned";
      secretId: string | undefined;
      inSync: boolean;
      /** It holds a client secret under the configured key (it can rebuild a lost version). */
      hasValue: boolean;
      /** The API server's time of Rotor's last write to it (its managed fields). */
      writtenAt: string | undefined;
    };

export type IssuerAccess =
  | {
      ok: true;
      tokenUrl: string | undefined;
      caBundle?: string | undefined;
      maxDescriptionLength: number;
      createsNamedClients: boolean;
    }
  | { ok: false; reason: "IssuerError" | "IssuerNotAllowed"; message: string };

export interface Snapshot {
  cc: {
    uid: string;
    name: string;
    namespace: string;
    generation: number;
    deletionTimestamp: string | undefined;
    hasFinalizer: boolean;
    rotateRequest: string | undefined;
    spec: ClientCredentialSpec;
    status: ClientCredentialStatus;
  };
  secretName: string;
  /**
   * `spec.clientId`, else the id Rotor chose and recorded in status (a subresource tenants
   * cannot write). Never taken from a Secret: anyone who writes Secrets in the namespace could
   * forge one.
   */
  clientId: string | undefined;
  /** Rotor created the client (no clientId in the spec): it deletes it with policy Revoke. */
  clientOwnedByRotor: boolean;
  /**
   * The ClientCredential uid the issuer has recorded as the client's owner (the one Rotor created
   * it for, or the first to claim it); undefined when none is recorded or it was not asked.
   */
  clientOwner: string | undefined;
  /** The issuer can record an owner for a client that exists (embedded: compare-and-swap). */
  issuerRecordsClaims: boolean;
  /**
   * OCS auth.self with bootstrapSecretRef.secretId: the secret a person issued. Rotor revokes it
   * once its own first secret is in use and no pod references the bootstrap Secret any more.
   */
  bootstrap: { secretId: string; secretName: string; consumers: Consumers | undefined } | undefined;
  /** Another ClientCredential holds this clientId. */
  clientHeldBy: string | undefined;
  issuer: IssuerAccess;
  /** Undefined when the issuer could not be asked. */
  clientExists: boolean | undefined;
  issuerSecrets: IssuerSecret[] | undefined;
  issuerError: string | undefined;
  target: TargetState;
  /** Oldest first; only those of `clientId`. */
  versions: Version[];
  /** Secrets labelled as versions of this ClientCredential that name another client: ignored. */
  foreignVersions: string[];
  /** The pods and workloads that reference the target Secret; observed for Restart and Observe. */
  consumers: Consumers | undefined;
  /** Target Secrets Rotor wrote under an earlier spec.secretName. */
  staleTargets: string[];
  /**
   * The ClientCredential CRD itself is being deleted (asked only while this object is being
   * deleted): its objects go because the kind goes, not because their owners asked.
   */
  definitionDeleting: boolean;
}

export type RevokeReason =
  | "orphan"
  | "expired"
  | "superseded"
  | "abandoned"
  | "deleting"
  | "bootstrap"
  | "conflict";

/** What a new secret is minted with: decided once, carried out as is. */
export interface SecretPlan {
  /** Whole seconds, as issuers store it. */
  expiration: string;
  /** The user's description; apply appends the ownership marker with a fresh mint id. */
  description: string;
}

export type Action =
  | { type: "addFinalizer" }
  | { type: "removeFinalizer"; warning?: string }
  /**
   * Secrets that hold values still valid at the issuer lose their owner reference, so that the
   * garbage collector does not delete them with the ClientCredential: the workloads keep working.
   */
  | { type: "keepSecrets"; names: string[]; why: string }
  /** clientId undefined: Rotor picks a random v4 GUID and records it in status first. */
  | {
      type: "createClient";
      clientId: string | undefined;
      name: string;
      roleIds: string[];
      firstSecret: SecretPlan;
    }
  /** Records this ClientCredential as the owner of a named client at the issuer (compare-and-swap). */
  | { type: "claimClient" }
  | { type: "deleteClient" }
  /** A named client is let go at deletion: its recorded owner is cleared. */
  | { type: "releaseClient" }
  | { type: "revoke"; secretId: string; versionName: string | undefined; reason: RevokeReason }
  | { type: "deleteVersion"; versionName: string; why: string }
  /**
   * A secret that is live (in the target Secret, or listed in status) lost its version Secret:
   * it is written again, with the value from the target Secret where that holds it, and goes
   * through the rollover like any other; it is never revoked as an orphan.
   */
  | {
      type: "restoreVersion";
      secretId: string;
      notAfter: string;
      createdAt: string;
      activatedAt: string;
      supersededAt: string | undefined;
      valueFromTarget: boolean;
    }
  /** A target Secret Rotor wrote that must go (an earlier spec.secretName, a client not its own). */
  | { type: "deleteTarget"; secretName: string; why: string }
  /** `at`: the API server's time of the switch. */
  | { type: "markSuperseded"; versionName: string; at: string }
  | { type: "markRolledOut"; versionName: string; at: string }
  | { type: "restart"; workload: WorkloadRef; secretId: string }
  | { type: "repairTarget"; versionName: string }
  | { type: "resume"; versionName: string }
  | {
      type: "mint";
      reason: "initial" | "renewal" | "requested" | "replace-lost";
      rotateRequest: string | undefined;
      secret: SecretPlan;
    };

export type BlockerReason =
  | "SlotsExhausted"
  | "IssuerError"
  | "IssuerNotAllowed"
  | "SecretConflict"
  | "ClientIdConflict";

export interface Blocker {
  reason: BlockerReason;
  message: string;
}

export interface Plan {
  actions: Action[];
  /** Why Rotor cannot do what is due; reported in conditions and a Warning event. */
  blocker: Blocker | undefined;
  /** When to look again, at the latest (renewal, end of a grace period, expiry). */
  requeueAfterMs: number | undefined;
  /** Decisions worth an event that are not actions: timeouts, paused workloads. */
  notices: Notice[];
}

export interface Notice {
  type: "Normal" | "Warning";
  reason:
    | "RolloutTimeout"
    | "RolloutPaused"
    | "ConsumersOutlivedSecret"
    | "BootstrapInUse"
    | "ForeignVersionIgnored";
  message: string;
}
