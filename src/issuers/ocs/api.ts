/**
 * Authenticated calls to one tenant's identity API (`/api/v1/Tenants/{tenant}/...`), as the
 * administrator client or as a client itself, and how refusals read. Messages never show the
 * administrator's client id: it is a credential of the issuer's owner, and namespaces that use
 * the issuer must not learn it (naming it in spec.clientId would hand them the administrator).
 */
import type { ClientRolesSpec } from "../../api/issuer.ts";
import { errorDetail, type IssuerHttp, type IssuerRequest, type IssuerResponse } from "../http/http.ts";
import { IssuerError } from "../issuer.ts";
import type { RoleDirectory } from "./role-directory.ts";
import type { Credential, TokenSource } from "./tokens.ts";

/** One tenant, shared by every ClientCredential of one issuer object: one throttle, one token cache. */
export interface OcsTenant {
  url: string;
  tenantId: string;
  http: IssuerHttp;
  tokens: TokenSource;
  /** For clients Rotor creates; absent: the tenant's default. */
  accessTokenLifetimeSeconds: number | undefined;
  /** Which roles clients Rotor creates get (roles.ts). */
  clientRoles: ClientRolesSpec;
  roles: RoleDirectory;
}

/** Who Rotor is at the tenant: an administrator client, or each client itself. */
export type OcsAuth =
  | {
      mode: "admin";
      credential: () => Promise<Credential>;
      /** The administrator's client id, possibly from a recent read; default: credential(). */
      ownClientId?: () => Promise<string>;
    }
  | { mode: "self"; clientId: string; secrets: () => Promise<string[]> };

/** How messages name the administrator client. */
export const ADMINISTRATOR = "the administrator client";

/** OCS client ids are GUIDs, compared without regard to case. */
export const sameClientId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export interface ApiCall {
  method: IssuerRequest["method"];
  /** Below `/api/v1/Tenants/{tenant}`. */
  path: string;
  what: string;
  body?: unknown;
}

export class TenantApi {
  readonly tenant: OcsTenant;
  readonly auth: OcsAuth;

  constructor(tenant: OcsTenant, auth: OcsAuth) {
    this.tenant = tenant;
    this.auth = auth;
  }

  /** One authenticated call; one fresh token is fetched when a token is refused. */
  async call(call: ApiCall, signal: AbortSignal): Promise<IssuerResponse> {
    const { url, tenantId, http, tokens } = this.tenant;
    const request = (token: string): IssuerRequest => ({
      method: call.method,
      url: `${url.replace(/\/+$/, "")}/api/v1/Tenants/${encodeURIComponent(tenantId)}${call.path}`,
      headers: {
        authorization: `Bearer ${token}`,
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      repeatable: call.method !== "POST",
      what: call.what,
      signal,
    });
    const key = this.tokenKey();
    const first = await http.send(request(await tokens.token(key, () => this.credentials(), signal)));
    if (first.status !== 401) return first;
    tokens.invalidate(key);
    return http.send(request(await tokens.token(key, () => this.credentials(), signal)));
  }

  /** The credentials to authenticate with, best first, labelled for messages. */
  async credentials(): Promise<Credential[]> {
    if (this.auth.mode === "admin") return [{ ...(await this.auth.credential()), label: ADMINISTRATOR }];
    const { clientId } = this.auth;
    return (await this.auth.secrets()).map((secret) => ({ clientId, secret }));
  }

  /** Throws the refusal as an IssuerError unless the status is one of `ok`. */
  expect(response: IssuerResponse, ok: number[], what: string): void {
    if (ok.includes(response.status)) return;
    const detail = errorDetail(response.body);
    const who = this.auth.mode === "admin" ? ADMINISTRATOR : `client ${this.auth.clientId}`;
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

  private tokenKey(): string {
    return this.auth.mode === "admin" ? "admin" : `client ${this.auth.clientId}`;
  }
}
