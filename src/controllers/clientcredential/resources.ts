import type { KubernetesObject, V1OwnerReference, V1Secret } from "@kubernetes/client-node";
import type { ClientCredentialSpec } from "../../api/clientcredential.ts";
import { clientCredentialSpec, clientCredentialStatus } from "../../api/clientcredential.ts";
import { API_VERSION, CLIENT_CREDENTIAL, GROUP, VERSION } from "../../api/group.ts";
import {
  ANN_ACTIVATED_AT,
  ANN_CLIENT_ID,
  ANN_CREATED_AT,
  ANN_MINT_ID,
  ANN_NOT_AFTER,
  ANN_RESTORED_FROM,
  ANN_ROLLED_OUT_AT,
  ANN_ROTATE_REQUEST,
  ANN_SUPERSEDED_AT,
  ANN_VALUE_KEY,
  LABEL_CLIENT_CREDENTIAL,
  LABEL_MANAGED_BY,
  LABEL_OWNER_UID,
  LABEL_ROLE,
  MANAGED_BY,
  SECRET_ID,
} from "../../api/metadata.ts";
import { FIELD_MANAGER } from "../../runtime/kube.ts";
import type { CachedSecret } from "./cached-secret.ts";
import { labelValue, type Version } from "./model.ts";

/** The CustomObjectsApi coordinates of one ClientCredential. */
export const clientCredentialPath = (namespace: string, name: string) => ({
  group: GROUP,
  version: VERSION,
  namespace,
  plural: CLIENT_CREDENTIAL.plural,
  name,
});

/** A ClientCredential as events refer to it. */
export const ccReference = (cc: { uid: string; name: string; namespace: string }) => ({
  apiVersion: API_VERSION,
  kind: CLIENT_CREDENTIAL.kind,
  name: cc.name,
  namespace: cc.namespace,
  uid: cc.uid,
});

export interface ClientCredentialObject extends KubernetesObject {
  spec?: unknown;
  status?: unknown;
}

/** Every Secret Rotor wrote for one ClientCredential: its versions and its target(s). */
export const ownedSelector = (uid: string) => `${LABEL_OWNER_UID}=${uid}`;
export const isVersionSecret = (secret: KubernetesObject) =>
  secret.metadata?.labels?.[LABEL_ROLE] === "version";
export const isTargetSecret = (secret: KubernetesObject) =>
  secret.metadata?.labels?.[LABEL_ROLE] === "target";

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

export function secretValue(secret: V1Secret | undefined, key: string): string | undefined {
  return decode(secret?.data?.[key]);
}

/** Reads a version Secret back; undefined when it is not one Rotor could have written. */
export function toVersion(secret: CachedSecret, clientSecretKey: string): Version | undefined {
  const annotations = secret.metadata?.annotations ?? {};
  const secretId = annotations[SECRET_ID] ?? secret.metadata?.labels?.[SECRET_ID];
  const notAfter = annotations[ANN_NOT_AFTER];
  const name = secret.metadata?.name;
  if (!secretId || !notAfter || !name || Number.isNaN(Date.parse(notAfter))) return undefined;
  return {
    name,
    secretId,
    clientId: annotations[ANN_CLIENT_ID],
    createdAt: annotations[ANN_CREATED_AT] ?? secret.metadata?.creationTimestamp?.toISOString() ?? notAfter,
    notAfter,
    mintId: annotations[ANN_MINT_ID],
    rotateRequest: annotations[ANN_ROTATE_REQUEST],
    activatedAt: annotations[ANN_ACTIVATED_AT],
    supersededAt: annotations[ANN_SUPERSEDED_AT],
    rolledOutAt: annotations[ANN_ROLLED_OUT_AT],
    hasValue: Boolean(secret.digests[valueKeyOf(secret, clientSecretKey)]),
  };
}

/** Oldest first: by creation time, then by the issuer's id as a number where it is one. */
export function sortVersions(versions: Version[]): Version[] {
  return versions.sort((a, b) => {
    const byTime = Date.parse(a.createdAt) - Date.parse(b.createdAt);
    if (byTime !== 0) return byTime;
    const [na, nb] = [Number(a.secretId), Number(b.secretId)];
    return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.secretId.localeCompare(b.secretId);
  });
}

/**
 * Parses a ClientCredential leniently: the spec passed admission, but a status may have been
 * written by anyone, so a malformed status is dropped instead of failing the reconcile.
 */
export function parseClientCredential(object: ClientCredentialObject) {
  const spec = clientCredentialSpec.safeParse(object.spec ?? {});
  const status = clientCredentialStatus.safeParse(object.status ?? {});
  return {
    spec: spec.success ? spec.data : undefined,
    specError: spec.success
      ? undefined
      : spec.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    status: status.success ? status.data : {},
  };
}

export function isControlledBy(object: KubernetesObject | undefined, uid: string): boolean {
  return Boolean(object?.metadata?.ownerReferences?.some((ref) => ref.controller && ref.uid === uid));
}

/** Where a version Secret keeps its value: wherever the keys were when it was written. */
export const valueKeyOf = (secret: KubernetesObject, clientSecretKey: string) =>
  secret.metadata?.annotations?.[ANN_VALUE_KEY] ?? clientSecretKey;

/** The value in a version Secret (as read from the API server). */
export function versionValue(secret: V1Secret, clientSecretKey: string): string | undefined {
  return secretValue(secret, valueKeyOf(secret, clientSecretKey));
}

export interface Owner {
  uid: string;
  name: string;
  namespace: string;
}

export function ownerReference(owner: Owner): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: CLIENT_CREDENTIAL.kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: false,
  };
}

function ownerLabels(owner: Owner, role: "target" | "version"): Record<string, string> {
  return {
    [LABEL_CLIENT_CREDENTIAL]: labelValue(owner.name),
    [LABEL_OWNER_UID]: owner.uid,
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_ROLE]: role,
  };
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export interface SecretContent {
  /** The ClientCredential's client: the one its versions belong to. */
  clientId: string;
  /** The client workloads log in with, where it is not `clientId` (a client per secret). */
  loginClientId?: string | undefined;
  value: string;
  secretId: string;
  notAfter: string;
  tokenUrl: string | undefined;
  /** The CA bundle of the token endpoint, where the issuer has one: only in the target Secret. */
  caBundle?: string | undefined;
}

function dataFor(spec: ClientCredentialSpec, content: SecretContent): Record<string, string> {
  return {
    [spec.keys.clientId]: b64(content.loginClientId ?? content.clientId),
    [spec.keys.clientSecret]: b64(content.value),
    ...(content.tokenUrl ? { [spec.keys.tokenUrl]: b64(content.tokenUrl) } : {}),
    ...(content.caBundle ? { [spec.keys.caCert]: b64(content.caBundle) } : {}),
  };
}

/** Where each secret is a client of its own, its id is the client id workloads log in with. */
export const loginClientIdOf = (clientPerSecret: boolean | undefined, secretId: string) =>
  clientPerSecret ? secretId : undefined;

/** The target Secret as Rotor applies it (server-side apply: the fields Rotor owns). */
export function desiredTarget(
  owner: Owner,
  spec: ClientCredentialSpec,
  secretName: string,
  content: SecretContent,
): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: secretName,
      namespace: owner.namespace,
      labels: { ...(spec.secretTemplate?.labels ?? {}), ...ownerLabels(owner, "target") },
      annotations: {
        ...(spec.secretTemplate?.annotations ?? {}),
        [SECRET_ID]: content.secretId,
        [ANN_NOT_AFTER]: content.notAfter,
      },
      ownerReferences: [ownerReference(owner)],
    },
    type: "Opaque",
    data: dataFor(spec, content),
  };
}

export interface VersionMeta {
  createdAt: string;
  mintId: string;
  rotateRequest: string | undefined;
  /** Set when the secret was verified before it was stored: it is current from the start. */
  activatedAt?: string | undefined;
}

/** A version Secret: immutable data, the only durable copy of a value the issuer never shows again. */
export function desiredVersion(
  owner: Owner,
  spec: ClientCredentialSpec,
  secretName: string,
  content: SecretContent,
  meta: VersionMeta,
): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: versionName(secretName, content.secretId),
      namespace: owner.namespace,
      labels: { ...ownerLabels(owner, "version"), [SECRET_ID]: labelValue(content.secretId) },
      annotations: {
        [SECRET_ID]: content.secretId,
        [ANN_NOT_AFTER]: content.notAfter,
        [ANN_CREATED_AT]: meta.createdAt,
        [ANN_CLIENT_ID]: content.clientId,
        [ANN_MINT_ID]: meta.mintId,
        [ANN_VALUE_KEY]: spec.keys.clientSecret,
        ...(meta.rotateRequest !== undefined ? { [ANN_ROTATE_REQUEST]: meta.rotateRequest } : {}),
        ...(meta.activatedAt !== undefined ? { [ANN_ACTIVATED_AT]: meta.activatedAt } : {}),
      },
      ownerReferences: [ownerReference(owner)],
    },
    type: "Opaque",
    immutable: true,
    // Without the CA bundle: it changes when the CA rotates, and this Secret cannot.
    data: dataFor(spec, { ...content, caBundle: undefined }),
  };
}

/** The name of the version Secret of one secret. */
const versionName = (secretName: string, secretId: string) =>
  `${secretName}-${secretId}`.toLowerCase().replace(/[^a-z0-9.-]/g, "-");

/**
 * A version Secret written again for a live secret whose version went missing: with its value
 * when the target Secret holds it, else without (it then only waits for the rollover).
 */
export function restoredVersion(
  owner: Owner,
  spec: ClientCredentialSpec,
  secretName: string,
  restored: {
    secretId: string;
    clientId: string;
    loginClientId?: string | undefined;
    value: string | undefined;
    notAfter: string;
    createdAt: string;
    activatedAt: string;
    supersededAt: string | undefined;
    tokenUrl: string | undefined;
  },
  /** A fresh suffix: the original's name may still be taken (a relabelled Secret). */
  suffix: string,
): V1Secret {
  const content = { ...restored, value: restored.value ?? "" };
  const version = desiredVersion(owner, spec, secretName, content, {
    createdAt: restored.createdAt,
    mintId: "restored",
    rotateRequest: undefined,
  });
  if (version.metadata) version.metadata.name = `${version.metadata.name}-restored-${suffix}`;
  if (restored.value === undefined) delete version.data?.[spec.keys.clientSecret];
  Object.assign(version.metadata?.annotations ?? {}, {
    [ANN_RESTORED_FROM]: restored.value === undefined ? "status" : "target",
    [ANN_ACTIVATED_AT]: restored.activatedAt,
    ...(restored.supersededAt ? { [ANN_SUPERSEDED_AT]: restored.supersededAt } : {}),
  });
  return version;
}

/** The API server's time of Rotor's last write of an object: its managed-fields entry. */
export function writtenAt(secret: V1Secret): string | undefined {
  const entry = secret.metadata?.managedFields?.find((f) => f.manager === FIELD_MANAGER && f.time);
  const time = entry?.time ?? secret.metadata?.creationTimestamp;
  return time ? new Date(time).toISOString() : undefined;
}
