/**
 * The OCS / AVEVA Data Hub issuer: clients and secrets through the tenant's identity API
 * (`/api/v1/Tenants/{tenant}/ClientCredentialClients/...`). Secrets are only ever added, listed
 * and deleted: never extended with PUT, which AVEVA advises against. Each method is one issuer
 * call, bounded in time as a whole (`--issuer-call-timeout`); a list is read to at most
 * MAX_LISTED_SECRETS, whatever Total-Count says. In administrator mode no method touches the
 * administrator's own client, whoever asks.
 */
import type { GrantedRole } from "../../api/issuer.ts";
import { errorDetail } from "../http/http.ts";
import {
  type ClientRequest,
  type Issuer,
  IssuerError,
  type IssuerSecret,
  type MintedSecret,
  type SecretRequest,
  type VerifyResult,
} from "../issuer.ts";
import { ADMINISTRATOR, type OcsAuth, type OcsTenant, sameClientId, TenantApi } from "./api.ts";
import { type CheckResult, checkTenant } from "./check.ts";
import { readPages } from "./pages.ts";
import { RoleError, rolesFor } from "./roles.ts";

export type { OcsAuth, OcsTenant } from "./api.ts";
export type { CheckResult } from "./check.ts";

/** The tag on a client Rotor created: the uid of the ClientCredential it was created for. */
const OWNER_TAG = "rotor.dev/owner=";

/**
 * AVEVA does not document a limit on secret descriptions; 255 characters is a conservative
 * guess that fits a 200-character spec.description plus Rotor's marker.
 */
export const OCS_MAX_DESCRIPTION = 255;
/** The API's default page size. */
const PAGE_SIZE = 100;
/**
 * A client holds at most 10 secrets; a list longer than this is not a tenant's answer, and an
 * endless one (a Total-Count of 10^9, pages that never end) must not be followed.
 */
export const MAX_LISTED_SECRETS = 1000;
/** How a secret without expiration is listed: it never frees its slot by itself. */
const NEVER = "9999-12-31T23:59:59.000Z";

export class OcsIssuer implements Issuer {
  readonly maxDescriptionLength = OCS_MAX_DESCRIPTION;
  readonly createsNamedClients = false;
  private readonly tenant: OcsTenant;
  private readonly auth: OcsAuth;
  private readonly api: TenantApi;
  private readonly pageSize: number;

  constructor(tenant: OcsTenant, auth: OcsAuth, options: { pageSize?: number } = {}) {
    this.tenant = tenant;
    this.auth = auth;
    this.api = new TenantApi(tenant, auth);
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
    const signal = await this.begin(clientId);
    const response = await this.api.call({ method: "GET", path: clientPath(clientId), what }, signal);
    if (response.status === 404) return undefined;
    this.api.expect(response, [200], what);
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
    const what = `read client ${clientId}`;
    const signal = await this.begin(clientId);
    const response = await this.api.call({ method: "GET", path: clientPath(clientId), what }, signal);
    if (response.status === 404) return false;
    this.api.expect(response, [200], what);
    return true;
  }

  /**
   * The roles a client created for `requested` (spec.roleIds) gets (roles.ts). The tenant's
   * roles are read again before a role is reported missing: it may have just been created.
   */
  async clientRoles(requested: string[]): Promise<GrantedRole[]> {
    const { clientRoles: policy, roles } = this.tenant;
    const signal = this.tenant.http.deadline();
    try {
      return rolesFor(requested, policy, await roles.roles(this.api, signal));
    } catch (error) {
      if (!(error instanceof RoleError)) throw error;
      return rolesFor(requested, policy, await roles.roles(this.api, signal, 0));
    }
  }

  async createClient(request: ClientRequest): Promise<MintedSecret> {
    if (this.auth.mode === "self")
      throw new IssuerError(
        "Rejected",
        "an issuer with auth.self cannot create clients: set spec.clientId and spec.bootstrapSecretRef",
      );
    const what = `create client ${request.clientId}`;
    const signal = await this.begin(request.clientId);
    const response = await this.api.call(
      {
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
      },
      signal,
    );
    if (response.status === 409)
      throw new IssuerError("ClientExists", `client ${request.clientId} exists already`);
    this.api.expect(response, [200, 201], what);
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
    const signal = await this.begin(clientId);
    const response = await this.api.call({ method: "DELETE", path: clientPath(clientId), what }, signal);
    if (response.status !== 404) this.api.expect(response, [200, 204], what);
  }

  async listSecrets(clientId: string): Promise<IssuerSecret[]> {
    return this.list(clientId, await this.begin(clientId));
  }

  private async list(clientId: string, signal: AbortSignal): Promise<IssuerSecret[]> {
    const items = await readPages(
      this.api,
      {
        path: `${clientPath(clientId)}/Secrets`,
        what: `list the secrets of client ${clientId}`,
        pageSize: this.pageSize,
        max: MAX_LISTED_SECRETS,
        noun: "secrets",
        beyondMax: "where a client holds at most 10",
        notFound: () =>
          new IssuerError(
            "ClientNotFound",
            `client ${clientId} does not exist in tenant ${this.tenant.tenantId}`,
          ),
      },
      signal,
    );
    return items.map((item) => ({
      id: String(item.Id),
      description: typeof item.Description === "string" ? item.Description : "",
      expiration: item.Expires === false || typeof item.Expiration !== "string" ? NEVER : item.Expiration,
    }));
  }

  async mintSecret(clientId: string, request: SecretRequest): Promise<MintedSecret> {
    const what = `add a secret to client ${clientId}`;
    const signal = await this.begin(clientId);
    const response = await this.api.call(
      {
        method: "POST",
        path: `${clientPath(clientId)}/Secrets`,
        what,
        body: {
          Description: request.description,
          Expiration: request.expiration.toISOString(),
          Expires: true,
        },
      },
      signal,
    );
    if (response.status === 404)
      throw new IssuerError(
        "ClientNotFound",
        `client ${clientId} does not exist in tenant ${this.tenant.tenantId}`,
      );
    if (response.status === 400) {
      // The API does not document what it answers at its limit of 10: count to be sure.
      const held = await this.list(clientId, this.tenant.http.deadline()).catch(() => undefined);
      if (held && held.length >= 10)
        throw new IssuerError(
          "SlotsExhausted",
          `client ${clientId} holds ${held.length} secrets, the issuer's limit${errorDetail(response.body)}`,
        );
    }
    this.api.expect(response, [200, 201], what);
    const body = response.body as {
      Secret?: unknown;
      Id?: unknown;
      Description?: unknown;
      Expiration?: unknown;
    };
    return minted(body.Secret, body.Id, body.Description, body.Expiration, request, what);
  }

  async revokeSecret(clientId: string, secretId: string): Promise<undefined> {
    const what = `delete secret ${secretId} of client ${clientId}`;
    const signal = await this.begin(clientId);
    const response = await this.api.call(
      { method: "DELETE", path: `${clientPath(clientId)}/Secrets/${encodeURIComponent(secretId)}`, what },
      signal,
    );
    // Gone already (or its client is): revoking is idempotent.
    if (response.status !== 404) this.api.expect(response, [200, 204], what);
  }

  async verify(clientId: string, secret: string): Promise<VerifyResult> {
    try {
      const signal = await this.begin(clientId);
      const result = await this.tenant.tokens.request({ clientId, secret }, signal);
      return result.ok ? { ok: true } : { ok: false, permanent: result.rejected, reason: result.reason };
    } catch (error) {
      return { ok: false, permanent: false, reason: (error as Error).message };
    }
  }

  /** Whether Rotor can work with the tenant (see check.ts). */
  check(): Promise<CheckResult> {
    return checkTenant(this.api);
  }

  /**
   * Starts one call about `clientId`: its deadline. Refuses the administrator's own client —
   * Rotor authenticates as it and must never mint, list, revoke or delete its secrets for a
   * ClientCredential (issuer-access.ts reports this to the ClientCredential first; this is the
   * last line).
   */
  private async begin(clientId: string): Promise<AbortSignal> {
    if (this.auth.mode === "admin") {
      const own = this.auth.ownClientId
        ? await this.auth.ownClientId()
        : (await this.auth.credential()).clientId;
      if (sameClientId(own, clientId))
        throw new IssuerError(
          "Rejected",
          `client ${clientId} is ${ADMINISTRATOR} this issuer authenticates as: Rotor never manages it for a ClientCredential`,
        );
    }
    return this.tenant.http.deadline();
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
