/**
 * The labels and annotations Rotor reads and writes: part of the contract users see on their
 * Secrets and workloads (`kubectl get secret -L rotor.dev/secret-id`), so each key is named once.
 */
import { GROUP } from "./group.ts";

export const FINALIZER = `${GROUP}/finalizer`;
/** On a ClientCredential: a new value asks for a rotation now. */
export const ROTATE_ANNOTATION = `${GROUP}/rotate`;

/**
 * The issuer's id of a secret: a label and an annotation on version Secrets, an annotation on the
 * target Secret, and the restart stamp on a workload's pod template (the ids it was restarted for).
 */
export const SECRET_ID = `${GROUP}/secret-id`;
/** On a workload's pod template: when Rotor last restarted it. */
export const RESTARTED_AT = `${GROUP}/restarted-at`;

export const LABEL_CLIENT_CREDENTIAL = `${GROUP}/client-credential`;
export const LABEL_OWNER_UID = `${GROUP}/client-credential-uid`;
export const LABEL_ROLE = `${GROUP}/role`;
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "rotor";

export const ANN_NOT_AFTER = `${GROUP}/not-after`;
export const ANN_CREATED_AT = `${GROUP}/created-at`;
export const ANN_CLIENT_ID = `${GROUP}/client-id`;
export const ANN_MINT_ID = `${GROUP}/mint-id`;
export const ANN_ROTATE_REQUEST = `${GROUP}/rotate-request`;
/** On a version Secret: the data key holding the value (keys may be renamed later). */
export const ANN_VALUE_KEY = `${GROUP}/value-key`;
/** Set on a version Secret when it becomes the current secret (before the target is written). */
export const ANN_ACTIVATED_AT = `${GROUP}/activated-at`;
/**
 * Set on a version Secret when a newer one replaced it in the target Secret: the API server's
 * time of that write, so that it compares with pod creation times from the same clock.
 */
export const ANN_SUPERSEDED_AT = `${GROUP}/superseded-at`;
/** Set on a superseded version Secret when no pod that may hold it is left. */
export const ANN_ROLLED_OUT_AT = `${GROUP}/rolled-out-at`;
/** Set on a version Secret Rotor rebuilt because the original went missing (see `restoreVersion`). */
export const ANN_RESTORED_FROM = `${GROUP}/restored-from`;
