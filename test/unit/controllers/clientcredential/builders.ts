/** Builders for ClientCredential snapshots: a row of a decide table reads as a sentence. */
import { clientCredentialSpec } from "../../../../src/api/clientcredential.ts";
import {
  type Action,
  describeWithMarker,
  type Snapshot,
  type Version,
} from "../../../../src/controllers/clientcredential/model.ts";
import type { IssuerSecret } from "../../../../src/issuers/issuer.ts";

export const UID = "11111111-1111-4111-8111-111111111111";
export const OTHER = "22222222-2222-4222-8222-222222222222";
export const T0 = Date.parse("2026-11-27T10:00:00Z");
export const at = (minutes: number) => new Date(T0 + minutes * 60_000);
export const iso = (minutes: number) => at(minutes).toISOString();
export const options = {
  finalizerTimeoutMs: 10 * 60_000,
  consumerResyncMs: 60 * 60_000,
  gracePeriodFloorMs: 0,
};

export function version(id: string, overrides: Partial<Version> = {}): Version {
  return {
    name: `app-${id}`,
    secretId: id,
    clientId: "client",
    createdAt: iso(Number(id)),
    notAfter: iso(Number(id) + 120),
    mintId: `m${id}`,
    rotateRequest: undefined,
    activatedAt: iso(Number(id)),
    supersededAt: undefined,
    rolledOutAt: undefined,
    hasValue: true,
    ...overrides,
  };
}

export const mine = (id: string): IssuerSecret => ({
  id,
  description: describeWithMarker("app", UID, `m${id}`, 256),
  expiration: iso(Number(id) + 120),
});
export const foreign = (id: string): IssuerSecret => ({
  id,
  description: `by hand ${id}`,
  expiration: iso(600),
});

export function snapshot(overrides: Partial<Snapshot> = {}, spec: Record<string, unknown> = {}): Snapshot {
  return {
    cc: {
      uid: UID,
      name: "app",
      namespace: "ns",
      generation: 1,
      deletionTimestamp: undefined,
      hasFinalizer: true,
      rotateRequest: undefined,
      spec: clientCredentialSpec.parse({
        description: "app",
        validity: "2h",
        renewBefore: "1h",
        gracePeriod: "5m",
        ...spec,
      }),
      status: {},
    },
    secretName: "app",
    clientId: "client",
    clientOwnedByRotor: true,
    clientOwner: undefined,
    issuerRecordsClaims: false,
    bootstrap: undefined,
    clientHeldBy: undefined,
    issuer: {
      ok: true,
      tokenUrl: "http://issuer/token",
      maxDescriptionLength: 256,
      createsNamedClients: true,
    },
    clientExists: true,
    issuerSecrets: [],
    issuerError: undefined,
    target: { state: "missing" },
    versions: [],
    foreignVersions: [],
    consumers: undefined,
    staleTargets: [],
    definitionDeleting: false,
    ...overrides,
  };
}

export const target = (
  id: string,
  over: { inSync?: boolean; hasValue?: boolean; writtenAt?: string } = {},
) => ({
  state: "owned" as const,
  secretId: id,
  inSync: true,
  hasValue: true,
  writtenAt: undefined,
  ...over,
});
export const inSyncTarget = (id: string) => target(id);

export const types = (actions: Action[]) =>
  actions.map((a) =>
    a.type === "revoke"
      ? `revoke:${a.secretId}:${a.reason}`
      : a.type === "mint"
        ? `mint:${a.reason}`
        : a.type,
  );
