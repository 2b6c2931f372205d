/**
 * The OAuth2 registration issuer, built as Rotor builds it, for tests that call it directly:
 * against a real Hydra (support/hydra.ts), with its records in a namespace of the real control
 * plane standing in for Rotor's.
 */
import { registrationIssuer } from "../../src/api/registration-issuer.ts";
import type { UrlPolicy } from "../../src/issuers/http/urls.ts";
import { RegistrationIssuer } from "../../src/issuers/oauth2/issuer.ts";
import { type Entry, RegistrationStore } from "../../src/issuers/oauth2/registrations.ts";
import { type RegistrationServer, RegistrationServers } from "../../src/issuers/oauth2/servers.ts";
import { kubeConfig } from "./cluster.ts";

/** The call timeout the tests' issuers have: an intent older than this (and the margin) is lost. */
export const CALL_TIMEOUT_MS = 10_000;

export interface RegistrationSetup {
  issuer: RegistrationIssuer;
  store: RegistrationStore;
  server: RegistrationServer;
}

/**
 * An issuer for `spec` (spec.oauth2 as a user writes it), recording in `rotorNamespace`, reading
 * its initial access token from `secretNamespace`.
 */
export function registrationSetup(
  spec: Record<string, unknown>,
  rotorNamespace: string,
  options: { secretNamespace?: string; urls?: UrlPolicy; key?: string } = {},
): RegistrationSetup {
  const kc = kubeConfig();
  const servers = new RegistrationServers(kc, {
    http: {
      timeoutMs: 3000,
      callTimeoutMs: CALL_TIMEOUT_MS,
      maxAttempts: 3,
      backoff: { baseMs: 50, maxMs: 500 },
      maxRetryAfterMs: 2000,
    },
    throttle: { maxConcurrent: 4, perSecond: 50 },
    ...(options.urls ? { urls: options.urls } : {}),
  });
  const store = new RegistrationStore(kc, rotorNamespace);
  const server = servers.connect(
    options.key ?? `ClusterCredentialIssuer/test-${rotorNamespace}`,
    registrationIssuer.parse(spec),
    options.secretNamespace ?? rotorNamespace,
  );
  return { issuer: new RegistrationIssuer(server, store), store, server };
}

/** Rotor's marker, as the controller appends it to a description. */
export const marked = (description: string, ownerUid: string, mintId: string) =>
  `${description} (rotor:${ownerUid}:${mintId})`;

/** Records an intent as mintSecret does before it registers, `ageMs` ago. */
export async function writeIntent(
  store: RegistrationStore,
  groupId: string,
  clientName: string,
  nonce: string,
  ageMs: number,
): Promise<void> {
  const intent: Entry = {
    state: "unconfirmed",
    nonce,
    clientName,
    since: new Date(Date.now() - ageMs).toISOString(),
  };
  await store.update(groupId, (entries) => {
    entries.push(intent);
  });
}

/** The message of what `work` throws (it must throw). */
export async function thrown(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, got none");
}
