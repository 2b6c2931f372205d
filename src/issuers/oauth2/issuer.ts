/**
 * An OAuth2 server with dynamic client registration (RFC 7591) and client deletion (RFC 7592),
 * rotated by client: such servers give a client one secret at a time, so each new secret is a
 * newly registered client, and the ClientCredential's client id names the group of clients
 * Rotor registered for it (recorded in registrations.ts, in Rotor's namespace).
 *
 * A registration is recorded as an intent before it is sent, and never sent twice: a lost
 * answer (a crash, a timeout) leaves the intent, which is listed as a secret carrying Rotor's
 * marker once no answer can come any more, so the controller revokes it like any orphan.
 * Revoking an intent deletes the client it may have made where Hydra's admin API can find it by
 * name; elsewhere such a client is left at the server (see `findsLostClients`). Each method is
 * one issuer call, bounded as a whole by --issuer-call-timeout; no secret value or token is ever
 * in an error message.
 */
import { randomBytes } from "node:crypto";
import { clientCredentialsToken } from "../http/client-token.ts";
import { type IssuerResponse, NeverSent } from "../http/http.ts";
import {
  type ClientRequest,
  type Issuer,
  IssuerError,
  type IssuerSecret,
  type MintedSecret,
  type SecretRequest,
  type VerifyResult,
} from "../issuer.ts";
import { checkServer, type RegistrationCheck } from "./check.ts";
import { deleteLost, deleteRegistered } from "./deletion.ts";
import {
  describeRefusal,
  nonceOf,
  readRegistration,
  registrationBody,
  unconfirmedId,
  withoutSecrets,
} from "./registration.ts";
import type { Entry, RegisteredEntry, RegistrationStore } from "./registrations.ts";
import type { RegistrationServer } from "./servers.ts";

export type { RegistrationCheck } from "./check.ts";

/** A conservative guess at what servers take as client_name: the description and Rotor's marker. */
export const REGISTRATION_MAX_DESCRIPTION = 200;
/** The most clients and intents one group records; the controller keeps far fewer (maxSecrets). */
export const MAX_ENTRIES = 32;
/** Rotor's replicas' clocks may differ a little: an intent is taken for lost this much after the call timeout. */
export const CLOCK_MARGIN_MS = 5_000;

export class RegistrationIssuer implements Issuer {
  readonly createsNamedClients = false;
  readonly recordsClaims = false;
  readonly clientPerSecret = true;
  readonly maxDescriptionLength = REGISTRATION_MAX_DESCRIPTION;
  private readonly server: RegistrationServer;
  private readonly store: RegistrationStore;

  constructor(server: RegistrationServer, store: RegistrationStore) {
    this.server = server;
    this.store = store;
  }

  get tokenUrl(): string | undefined {
    return this.server.discovery.known?.token;
  }

  /**
   * Whether revoking an intent (a registration whose answer was lost) finds and deletes the
   * client it may have made (spec.oauth2.hydraAdminUrl); otherwise such a client may be left.
   */
  get findsLostClients(): boolean {
    return this.server.admin !== undefined;
  }

  async clientOwner(groupId: string): Promise<string | undefined> {
    return (await this.store.read(groupId))?.ownerUid;
  }

  claimClient(groupId: string): Promise<string | undefined> {
    return this.clientOwner(groupId);
  }

  async releaseClient(): Promise<void> {}

  async clientExists(groupId: string): Promise<boolean> {
    return (await this.store.read(groupId)) !== undefined;
  }

  /** Creates the group's record, then registers its first client. */
  async createClient(request: ClientRequest): Promise<MintedSecret> {
    const made = await this.store.create(request.clientId, request.ownerUid, this.server.key);
    if (!made.created && made.ownerUid !== request.ownerUid)
      throw new IssuerError(
        "ClientExists",
        `client group ${request.clientId} exists already, for another ClientCredential`,
      );
    return this.mintSecret(request.clientId, request.firstSecret);
  }

  async mintSecret(groupId: string, request: SecretRequest): Promise<MintedSecret> {
    const { http, discovery, spec } = this.server;
    const endpoints = await discovery.endpoints(http.deadline());
    const initialAccessToken = await this.server.initialAccessToken();
    const clientName = request.description;
    const nonce = randomBytes(8).toString("hex");
    const since = Date.now();
    await this.store.update(groupId, (entries) => {
      if (entries.length >= MAX_ENTRIES)
        throw new IssuerError(
          "SlotsExhausted",
          `Rotor records ${entries.length} clients and registrations for ${groupId}, its limit: revoke some first`,
        );
      entries.push({ state: "unconfirmed", nonce, clientName, since: new Date(since).toISOString() });
    });
    // The registration ends within one call timeout of the intent's time: listSecrets takes an
    // older intent for lost, and the controller revokes it.
    const left = since + http.callTimeoutMs - Date.now();
    if (left <= 0) {
      await this.dropIntent(groupId, nonce);
      throw new IssuerError(
        "Unavailable",
        `could not register a client for ${groupId}: no time left to send it`,
      );
    }
    let response: IssuerResponse;
    try {
      response = await http.send({
        method: "POST",
        url: endpoints.registration,
        headers: {
          "content-type": "application/json",
          ...(initialAccessToken ? { authorization: `Bearer ${initialAccessToken}` } : {}),
        },
        body: JSON.stringify(registrationBody(spec.client, clientName)),
        repeatable: false,
        what: `register a client for ${groupId}`,
        signal: AbortSignal.timeout(left),
      });
    } catch (error) {
      // Otherwise the outcome is unknown: the intent stays, to be found once no answer can come.
      if (error instanceof NeverSent) await this.dropIntent(groupId, nonce);
      throw withoutSecrets(error, [initialAccessToken]);
    }
    if (response.status >= 400 && response.status < 500) {
      await this.dropIntent(groupId, nonce);
      throw new IssuerError(
        "Rejected",
        describeRefusal(response.status, response.body, endpoints.registration, initialAccessToken),
      );
    }
    if (response.status !== 200 && response.status !== 201)
      throw new IssuerError(
        "Unavailable",
        `could not register a client for ${groupId}: the server answered ${response.status}`,
      );
    const answer = readRegistration(response.body, spec.issuerUrl, this.server.policy);
    if (!answer.ok)
      // Rotor could not delete this client by RFC 7592: the intent stays, so the client is
      // found by name where Hydra's admin API can, and reported elsewhere.
      throw new IssuerError(
        "Rejected",
        `the server registered a client for ${groupId}${answer.clientId ? ` (${answer.clientId})` : ""} that Rotor does not use: ${answer.problem}`,
      );
    const entry: RegisteredEntry = {
      state: "registered",
      ...answer.registration,
      clientName,
      expiration: request.expiration.toISOString(),
    };
    try {
      await this.store.update(groupId, (entries) => {
        const at = entries.findIndex((e) => e.state === "unconfirmed" && e.nonce === nonce);
        if (at >= 0) entries.splice(at, 1, entry);
        else entries.push(entry);
      });
    } catch (error) {
      // Unrecorded, the client would be an orphan: delete it while its token is at hand.
      await deleteRegistered(this.server, entry, http.deadline())
        .then(() => this.dropIntent(groupId, nonce))
        .catch(() => undefined);
      throw error;
    }
    if (!answer.secret) {
      await this.revokeSecret(groupId, entry.clientId).catch(() => undefined);
      throw new IssuerError(
        "Rejected",
        `the server registered client ${entry.clientId} for ${groupId} without a client_secret (it may not allow ${spec.client.tokenEndpointAuthMethod}): check spec.oauth2.client.tokenEndpointAuthMethod`,
      );
    }
    return {
      id: entry.clientId,
      clientId: entry.clientId,
      value: answer.secret,
      description: clientName,
      expiration: entry.expiration,
    };
  }

  async listSecrets(groupId: string): Promise<IssuerSecret[]> {
    const group = await this.store.read(groupId);
    if (!group) throw this.store.notFound(groupId);
    const lostBefore = Date.now() - this.server.http.callTimeoutMs - CLOCK_MARGIN_MS;
    // A younger intent may be a registration in flight (a replica that led until just now). It
    // is not listed, but the list fails until it can be: the controller then retries with
    // backoff and finds the intent once no answer can come, instead of settling until its next
    // renewal with a client that may exist at the server.
    const young = group.entries.filter(
      (e) => e.state === "unconfirmed" && !(Date.parse(e.since) < lostBefore),
    ).length;
    if (young > 0)
      throw new IssuerError(
        "Unavailable",
        `a client registration for ${groupId} may still be under way (its answer was lost): Rotor looks again once no answer can come, within ${Math.ceil((this.server.http.callTimeoutMs + CLOCK_MARGIN_MS) / 1000)}s`,
      );
    return group.entries.map(
      (entry): IssuerSecret =>
        entry.state === "registered"
          ? { id: entry.clientId, description: entry.clientName, expiration: entry.expiration }
          : { id: unconfirmedId(entry.nonce), description: entry.clientName, expiration: entry.since },
    );
  }

  /** Idempotent: a client or intent that is gone is revoked already. */
  async revokeSecret(groupId: string, secretId: string): Promise<string | undefined> {
    const group = await this.store.read(groupId);
    if (!group) return undefined;
    const signal = this.server.http.deadline();
    const nonce = nonceOf(secretId);
    let matches: (entry: Entry) => boolean;
    let left: string | undefined;
    if (nonce !== undefined) {
      const intent = group.entries.find((e) => e.state === "unconfirmed" && e.nonce === nonce);
      if (!intent) return undefined;
      await deleteLost(this.server, intent.clientName, group.entries, signal);
      left = this.findsLostClients
        ? undefined
        : `a registration's answer was lost, so a client named "${intent.clientName}" may be left at the server: without spec.oauth2.hydraAdminUrl Rotor cannot find it. Look for it by that name and delete it`;
      matches = (e) => e.state === "unconfirmed" && e.nonce === nonce;
    } else {
      const entry = group.entries.find(
        (e): e is RegisteredEntry => e.state === "registered" && e.clientId === secretId,
      );
      if (!entry) return undefined;
      await deleteRegistered(this.server, entry, signal);
      matches = (e) => e.state === "registered" && e.clientId === secretId;
    }
    await this.store
      .update(groupId, (entries) => {
        const at = entries.findIndex(matches);
        if (at >= 0) entries.splice(at, 1);
      })
      .catch((error: unknown) => {
        if (!(error instanceof IssuerError && error.kind === "ClientNotFound")) throw error;
      });
    return left;
  }

  /** Deletes every client of the group, then its record. */
  async deleteClient(groupId: string): Promise<void> {
    const group = await this.store.read(groupId);
    if (!group) return;
    for (const entry of group.entries)
      await this.revokeSecret(
        groupId,
        entry.state === "registered" ? entry.clientId : unconfirmedId(entry.nonce),
      );
    await this.store.delete(groupId);
  }

  /** A client_credentials token for the client, without a scope, as the issuer's auth method says. */
  async verify(clientId: string, secret: string): Promise<VerifyResult> {
    const { http, discovery, spec } = this.server;
    try {
      const signal = http.deadline();
      const endpoint = (await discovery.endpoints(signal)).token;
      const method = spec.client.tokenEndpointAuthMethod;
      const result = await clientCredentialsToken(http, { endpoint, clientId, secret, method, signal });
      return result.ok ? { ok: true } : { ok: false, permanent: result.refused, reason: result.reason };
    } catch (error) {
      return { ok: false, permanent: false, reason: withoutSecrets(error, [secret]).message };
    }
  }

  /** Whether Rotor can work with the server (check.ts); registers nothing. */
  check(): Promise<RegistrationCheck> {
    return checkServer(this.server);
  }

  private async dropIntent(groupId: string, nonce: string): Promise<void> {
    await this.store
      .update(groupId, (entries) => {
        const at = entries.findIndex((e) => e.state === "unconfirmed" && e.nonce === nonce);
        if (at >= 0) entries.splice(at, 1);
      })
      .catch(() => undefined);
  }
}
