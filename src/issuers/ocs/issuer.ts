/**
 * The OCS / AVEVA Data Hub issuer: clients and secrets through the tenant's identity API
 * (`/api/v1/Tenants/{tenant}/ClientCredentialClients/...`). Secrets are only ever added, listed
 * and deleted: never extended with PUT, which AVEVA advises against.
 */
import {
  type ClientRequest,
  type Issuer,
  IssuerError,
  type IssuerSecret,
  type MintedSecret,
  type SecretRequest,
  type VerifyResult,
} from "../issuer.ts";
import { errorDetail, type OcsHttp, type OcsRequest, type OcsResponse } from "./http.ts";
import type { Credential, TokenSource } from "./tokens.ts";

/** The tag on a client Rotor created: the uid of the ClientCredential it was created for. */
const OWNER_TAG = "rotor.dev/owner=";

/**
 * AVEVA does not document a limit on secret descriptions; 255 characters is a conservative
 * guess that fits a 200-character spec.description plus Rotor's marker.
 */
export const OCS_MAX_DESCRIPTION = 255;
/** The API's default page size. */
const PAGE_SIZE = 100;
/** How a secret without expiration is listed: it never frees its slot by itself. */
const NEVER = "9999-12-31T23:59:59.000Z";

/** One tenant, shared by every ClientCredential of one issuer object: one throttle, one token cache. */
export interface OcsTenant {
  url: string;
  tenantId: string;
  http: OcsHttp;
  tokens: TokenSource;
  /** For clients Rotor creates; absent: the tenant's default. */
  accessTokenLifetimeSeconds: number | undefined;
}

export interface CheckResult {
  ok: boolean;
  reason:
    | "Authenticated"
    | "Reachable"
    | "Unreachable"
    | "CredentialsUnavailable"
    | "BadCredentials"
    | "TenantNotFound"
    | "Forbidden";
  message: string;
}

/** Who Rotor is at the tenant: an administrator client, or each client itself. */
export type OcsAuth =
  | { mode: "admin"; credential: () => Promise<Credential> }
  | { mode: "self"; clientId: string; secrets: () => Promise<string[]> };

export class OcsIssuer implements Issuer {
  readonly maxDescriptionLength = OCS_MAX_DESCRIPTION;
  readonly createsNamedClients = false;
  private readonly tenant: OcsTenant;
  private readonly auth: OcsAuth;
  private readonly pageSize: number;

  constructor(tenant: OcsTenant, auth: OcsAuth, options: { pageSize?: number } = {}) {
    this.tenant = tenant;
    this.auth = auth;
    this.pageSize = options.pageSize ?? PAGE_SIZE;
  }

  get tokenUrl(): string | undefined {
    return this.tenant.tokens.knownEndpoint;
  }

  /**
   * The owner Rotor recorded in the client's Tags when it created it. OCS has no compare-and-swap
   * on a client (and Rotor never PUTs), so an existing client cannot be claimed here.
   */
  readonly recordsClaims = false;

  async clientOwner(clientId: string): Promise<string | undefined> {
    const what = `read client ${clientId}`;
    const response = await this.api({ method: "GET", path: clientPath(clientId), what });
    if (response.status === 404) return undefined;
    this.expect(response, [200], what);
    const tags = (response.body as { Tags?: unknown }).Tags;
    const tag = Array.isArray(tags)
      ? tags.find((t): t is string => typeof t === "string" && t.startsWith(OWNER_TAG))
      : undefined;
    return tag?.slice(OWNER_TAG.length);
  }

  claimClient(clientId: string): Promise<string | undefined> {
    return this.clientOwner(clientId);
  }

  async releaseClient(): Promise<void> {}

  async clientExists(clientId: string): Promise<boolean> {
    const response = await this.api({
      method: "GET",
      path: clientPath(clientId),
      what: `read client ${clientId}`,
    });
    if (response.status === 404) return false;
    this.expect(response, [200], `read client ${clientId}`);
    return true;
  }

  async createClient(request: ClientRequest): Promise<MintedSecret> {
    if (this.auth.mode === "self")
      throw new IssuerError(
        "Rejected",
        "an issuer with auth.self cannot create clients: set spec.clientId and spec.bootstrapSecretRef",
      );
    const what = `create client ${request.clientId}`;
    const response = await this.api({
      method: "POST",
      path: "/ClientCredentialClients",
      what,
      body: {
        Id: request.clientId,
        Name: request.name,
        Enabled: true,
        AccessTokenLifetime: this.tenant.accessTokenLifetimeSeconds,
        RoleIds: request.roleIds,
        Tags: [`${OWNER_TAG}${request.ownerUid}`],
        SecretDescription: request.firstSecret.description,
        SecretExpirationDate: request.firstSecret.expiration.toISOString(),
      },
    });
    if (response.status === 409)
      throw new IssuerError("ClientExists", `client ${request.clientId} exists already`);
    this.expect(response, [200, 201], what);
    const body = response.body as {
      Secret?: unknown;
      Id?: unknown;
      Description?: unknown;
      ExpirationDate?: unknown;
    };
    return minted(body.Secret, body.Id, body.Description, body.ExpirationDate, request.firstSecret, what);
  }

  async deleteClient(clientId: string): Promise<void> {
    const what = `delete client ${clientId}`;
    const response = await this.api({ method: "DELETE", path: clientPath(clientId), what });
    if (response.status !== 404) this.expect(response, [200, 204], what);
  }

  async listSecrets(clientId: string): Promise<IssuerSecret[]> {
    const what = `list the secrets of client ${clientId}`;
    const secrets: IssuerSecret[] = [];
    // Every page, until Total-Count is reached (or a short page says there is no more).
    for (let skip = 0; ; skip += this.pageSize) {
      const response = await this.api({
        method: "GET",
        path: `${clientPath(clientId)}/Secrets?skip=${skip}&count=${this.pageSize}`,
        what,
      });
      if (response.status === 404)
        throw new IssuerError(
          "ClientNotFound",
          `client ${clientId} does not exist in tenant ${this.tenant.tenantId}`,
        );
      this.expect(response, [200], what);
      const page = Array.isArray(response.body) ? (response.body as Array<Record<string, unknown>>) : [];
      for (const item of page) {
        secrets.push({
          id: String(item.Id),
          description: typeof item.Description === "string" ? item.Description : "",
          expiration: item.Expires === false || typeof item.Expiration !== "string" ? NEVER : item.Expiration,
        });
      }
      const total = Number(response.headers.get("total-count"));
      const done =
        Number.isFinite(total) && response.headers.has("total-count") ? secrets.length >= total : true;
      if (done || page.length < this.pageSize) return secrets;
    }
  }

  async mintSecret(clientId: string, request: SecretRequest): Promise<MintedSecret> {
    const what = `add a secret to client ${clientId}`;
    const response = await this.api({
      method: "POST",
      path: `${clientPath(clientId)}/Secrets`,
      what,
      body: { Description: request.description, Expiration: request.expiration.toISOString(), Expires: true },
    });
    if (response.status === 404)
      throw new IssuerError(
        "ClientNotFound",
        `client ${clientId} does not exist in tenant ${this.tenant.tenantId}`,
      );
    if (response.status === 400) {
      // The API does not document what it answers at its limit of 10: count to be sure.
      const held = await this.listSecrets(clientId).catch(() => undefined);
      if (held && held.length >= 10)
        throw new IssuerError(
          "SlotsExhausted",
          `client ${clientId} holds ${held.length} secrets, the issuer's limit${errorDetail(response.body)}`,
        );
    }
    this.expect(response, [200, 201], what);
    const body = response.body as {
      Secret?: unknown;
      Id?: unknown;
      Description?: unknown;
      Expiration?: unknown;
    };
    return minted(body.Secret, body.Id, body.Description, body.Expiration, request, what);
  }

  async revokeSecret(clientId: string, secretId: string): Promise<void> {
    const what = `delete secret ${secretId} of client ${clientId}`;
    const response = await this.api({
      method: "DELETE",
      path: `${clientPath(clientId)}/Secrets/${encodeURIComponent(secretId)}`,
      what,
    });
    // Gone already (or its client is): revoking is idempotent.
    if (response.status !== 404) this.expect(response, [200, 204], what);
  }

  async verify(clientId: string, secret: string): Promise<VerifyResult> {
    try {
      const result = await this.tenant.tokens.request({ clientId, secret });
      return result.ok ? { ok: true } : { ok: false, permanent: result.rejected, reason: result.reason };
    } catch (error) {
      return { ok: false, permanent: false, reason: (error as Error).message };
    }
  }

  /**
   * Whether Rotor can work with the tenant: discovery, then (as administrator) a token and one
   * read of the tenant's clients. With auth.self there is nothing to authenticate with here:
   * each ClientCredential finds out with its own secret.
   */
  async check(): Promise<CheckResult> {
    const { tokens, tenantId, url } = this.tenant;
    const failed = (reason: CheckResult["reason"], message: string): CheckResult => ({
      ok: false,
      reason,
      message,
    });
    try {
      await tokens.tokenEndpoint();
    } catch (error) {
      return failed("Unreachable", (error as Error).message);
    }
    if (this.auth.mode === "self")
      return {
        ok: true,
        reason: "Reachable",
        message:
          "the tenant's discovery document answered; each ClientCredential authenticates with its own secret",
      };
    let credential: Credential;
    try {
      credential = await this.auth.credential();
    } catch (error) {
      return failed("CredentialsUnavailable", (error as Error).message);
    }
    try {
      const token = await tokens.request(credential);
      if (!token.ok)
        return token.rejected
          ? failed(
              "BadCredentials",
              `the token endpoint refused administrator client ${credential.clientId} (${token.reason}): check the Secret`,
            )
          : failed("Unreachable", token.reason);
      const what = `list the clients of tenant ${tenantId}`;
      const response = await this.api({
        method: "GET",
        path: "/ClientCredentialClients?skip=0&count=1",
        what,
      });
      if (response.status === 200)
        return {
          ok: true,
          reason: "Authenticated",
          message: `authenticated to tenant ${tenantId} as ${credential.clientId}`,
        };
      if (response.status === 404)
        return failed(
          "TenantNotFound",
          `tenant ${tenantId} was not found at ${url}${errorDetail(response.body)}: check spec.ocs.tenantId and spec.ocs.url`,
        );
      if (response.status === 401 || response.status === 403)
        return failed(
          "Forbidden",
          `administrator client ${credential.clientId} may not list the tenant's clients (${response.status}${errorDetail(response.body)}): it needs the Tenant Administrator role`,
        );
      return failed("Unreachable", `the issuer answered ${response.status} to: ${what}`);
    } catch (error) {
      return failed("Unreachable", (error as Error).message);
    }
  }

  /** An authenticated call to the tenant's API; one fresh token is fetched when a token is refused. */
  private async api(call: {
    method: OcsRequest["method"];
    path: string;
    what: string;
    body?: unknown;
  }): Promise<OcsResponse> {
    const { url, tenantId, http, tokens } = this.tenant;
    const request = (token: string): OcsRequest => ({
      method: call.method,
      url: `${url.replace(/\/+$/, "")}/api/v1/Tenants/${encodeURIComponent(tenantId)}${call.path}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      repeatable: call.method !== "POST",
      what: call.what,
    });
    const key = this.tokenKey();
    const first = await http.send(request(await tokens.token(key, () => this.credentials())));
    if (first.status !== 401) return first;
    tokens.invalidate(key);
    return http.send(request(await tokens.token(key, () => this.credentials())));
  }

  private tokenKey(): string {
    return this.auth.mode === "admin" ? "admin" : `client ${this.auth.clientId}`;
  }

  private async credentials(): Promise<Credential[]> {
    if (this.auth.mode === "admin") return [await this.auth.credential()];
    const { clientId } = this.auth;
    return (await this.auth.secrets()).map((secret) => ({ clientId, secret }));
  }

  private expect(response: OcsResponse, ok: number[], what: string): void {
    if (ok.includes(response.status)) return;
    const detail = errorDetail(response.body);
    const who = this.auth.mode === "admin" ? "the administrator client" : `client ${this.auth.clientId}`;
    if (response.status === 401 || response.status === 403)
      throw new IssuerError(
        "Rejected",
        `the issuer refused to let ${who} ${what} (${response.status}${detail})${
          response.status === 403 && this.auth.mode === "admin"
            ? ": it needs the Tenant Administrator role"
            : ""
        }`,
      );
    throw new IssuerError("Rejected", `could not ${what}: the issuer answered ${response.status}${detail}`);
  }
}

const clientPath = (clientId: string) => `/ClientCredentialClients/${encodeURIComponent(clientId)}`;

function minted(
  value: unknown,
  id: unknown,
  description: unknown,
  expiration: unknown,
  request: SecretRequest,
  what: string,
): MintedSecret {
  if (typeof value !== "string" || value === "" || (typeof id !== "number" && typeof id !== "string"))
    throw new IssuerError("Rejected", `could not ${what}: the answer has no secret value or id`);
  return {
    id: String(id),
    value,
    description: typeof description === "string" ? description : request.description,
    expiration: typeof expiration === "string" ? expiration : request.expiration.toISOString(),
  };
}
