/**
 * The vocabulary of the ClientCredential controller: the labels and annotations Rotor puts on
 * the Secrets it writes, the ownership marker it puts on every secret it mints, and the shapes
 * of what it observes (Snapshot) and decides (Plan).
 */
import type { ClientCredentialSpec, ClientCredentialStatus } from "../../api/clientcredential.ts";
import type { IssuerSecret } from "../../issuers/issuer.ts";
import type { Consumers, WorkloadRef } from "../rollout/consumers.ts";

export const FINALIZER = "rotor.dev/finalizer";
export const ROTATE_ANNOTATION = "rotor.dev/rotate";

export const LABEL_CLIENT_CREDENTIAL = "rotor.dev/client-credential";
export const LABEL_OWNER_UID = "rotor.dev/client-credential-uid";
export const LABEL_SECRET_ID = "rotor.dev/secret-id";
export const LABEL_ROLE = "rotor.dev/role";
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "rotor";

export const ANN_SECRET_ID = "rotor.dev/secret-id";
export const ANN_NOT_AFTER = "rotor.dev/not-after";
export const ANN_CREATED_AT = "rotor.dev/created-at";
export const ANN_CLIENT_ID = "rotor.dev/client-id";
export const ANN_MINT_ID = "rotor.dev/mint-id";
export const ANN_ROTATE_REQUEST = "rotor.dev/rotate-request";
/** On a version Secret: the data key holding the value (keys may be renamed later). */
export const ANN_VALUE_KEY = "rotor.dev/value-key";
/** Set on a version Secret when it becomes the current secret (before the target is written). */
export const ANN_ACTIVATED_AT = "rotor.dev/activated-at";
/** Set on a version Secret when a newer one replaced it in the target Secret. */
export const ANN_SUPERSEDED_AT = "rotor.dev/superseded-at";
/** Set on a superseded version Secret when no pod that may hold it is left. */
export const ANN_ROLLED_OUT_AT = "rotor.dev/rolled-out-at";

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
  | { state: "owned"; secretId: string | undefined; inSync: boolean };

export type IssuerAccess =
  | { ok: true; tokenUrl: string | undefined; maxDescriptionLength: number; createsNamedClients: boolean }
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
  clientId: string | undefined;
  /** Rotor created the client (no clientId in the spec): it deletes it with policy Revoke. */
  clientOwnedByRotor: boolean;
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
  /** Oldest first. */
  versions: Version[];
  /** The pods and workloads that reference the target Secret; observed for Restart and Observe. */
  consumers: Consumers | undefined;
  /** Target Secrets Rotor wrote under an earlier spec.secretName. */
  staleTargets: string[];
}

export type RevokeReason = "orphan" | "expired" | "superseded" | "abandoned" | "deleting" | "bootstrap";

export type Action =
  | { type: "addFinalizer" }
  | { type: "removeFinalizer"; warning?: string }
  /** clientId undefined: Rotor picks a random v4 GUID. */
  | { type: "createClient"; clientId: string | undefined }
  | { type: "deleteClient" }
  | { type: "revoke"; secretId: string; versionName: string | undefined; reason: RevokeReason }
  | { type: "deleteVersion"; versionName: string; why: string }
  | { type: "deleteStaleTarget"; secretName: string }
  | { type: "markSuperseded"; versionName: string }
  | { type: "markRolledOut"; versionName: string }
  | { type: "restart"; workload: WorkloadRef; secretId: string }
  | { type: "repairTarget"; versionName: string }
  | { type: "resume"; versionName: string }
  | {
      type: "mint";
      reason: "initial" | "renewal" | "requested" | "replace-lost";
      rotateRequest: string | undefined;
    };

export type Blocker =
  | { reason: "SlotsExhausted"; message: string }
  | { reason: "IssuerError"; message: string }
  | { reason: "IssuerNotAllowed"; message: string }
  | { reason: "SecretConflict"; message: string }
  | { reason: "ClientIdConflict"; message: string };

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
  reason: "RolloutTimeout" | "RolloutPaused" | "ConsumersOutlivedSecret" | "BootstrapInUse";
  message: string;
}
