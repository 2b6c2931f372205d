/**
 * Discovery and access tokens. The token endpoint comes from the tenant's OpenID discovery
 * document, and is used only where urls.ts allows secrets to go; tokens are cached until
 * shortly before they expire, one fetch at a time per client.
 */

import { errorDetail, type IssuerHttp, within } from "../http/http.ts";
import { STRICT, type UrlPolicy } from "../http/urls.ts";
import { IssuerError } from "../issuer.ts";
import { checkTenantUrl, checkTokenEndpoint } from "./urls.ts";

export interface Credential {
  clientId: string;
  secret: string;
  /**
   * How messages name it. The administrator's id is a credential of the issuer's owner and is
   * never shown ("the administrator client"); a ClientCredential's own client is shown by id.
   */
  label?: string;
}

const labelOf = (credential: Credential) => credential.label ?? `client ${credential.clientId}`;

export type TokenResult =
  | { ok: true; token: string; expiresInSeconds: number }
  | { ok: false; rejected: boolean; reason: string };

interface Cached {
  token: string;
  /** When to stop using it: a minute (or a tenth of its life) before it expires. */
  refreshAt: number;
}

export class TokenSource {
  private readonly http: IssuerHttp;
  private readonly baseUrl: string;
  private readonly policy: UrlPolicy;
  private endpoint: string | undefined;
  private discovering: Promise<string> | undefined;
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(http: IssuerHttp, baseUrl: string, policy: UrlPolicy = STRICT) {
    this.http = http;
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.policy = policy;
  }

  /** The discovered token endpoint, if discovery has succeeded. */
  get knownEndpoint(): string | undefined {
    return this.endpoint;
  }

  /**
   * The token endpoint, discovered once (concurrent callers share one discovery). Throws
   * UrlRefused, before any request is sent, when secrets may not go there.
   */
  async tokenEndpoint(signal?: AbortSignal): Promise<string> {
    if (this.endpoint) return this.endpoint;
    checkTenantUrl(this.baseUrl, this.policy);
    this.discovering ??= this.discover().finally(() => {
      this.discovering = undefined;
    });
    return within(this.discovering, signal, "read the OpenID discovery document", this.http.callTimeoutMs);
  }

  private async discover(): Promise<string> {
    const url = `${this.baseUrl}/identity/.well-known/openid-configuration`;
    const response = await this.http.send({
      method: "GET",
      url,
      repeatable: true,
      what: "read the OpenID discovery document",
    });
    const endpoint = (response.body as { token_endpoint?: unknown } | undefined)?.token_endpoint;
    if (response.status !== 200 || typeof endpoint !== "string" || !URL.canParse(endpoint)) {
      throw new IssuerError(
        "Unavailable",
        `${url} answered ${response.status} without a token_endpoint: is spec.ocs.url the tenant's base URL?`,
      );
    }
    if (!/^https?:$/.test(new URL(endpoint).protocol))
      throw new IssuerError("Unavailable", `${url} names a token_endpoint that is not an http(s) URL`);
    checkTokenEndpoint(endpoint, this.baseUrl, this.policy);
    this.endpoint = endpoint;
    return endpoint;
  }

  /** A bearer token for `key`, from the first candidate credential the token endpoint accepts. */
  async token(key: string, candidates: () => Promise<Credential[]>, signal?: AbortSignal): Promise<string> {
    const cached = this.cache.get(key);
    if (cached && cached.refreshAt > Date.now()) return cached.token;
    let fetching = this.inFlight.get(key);
    if (!fetching) {
      fetching = this.fetch(key, candidates).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, fetching);
    }
    return within(fetching, signal, "get an access token", this.http.callTimeoutMs);
  }

  /** Forget a token the API refused (revoked, or its client's rights changed). */
  invalidate(key: string): void {
    this.cache.delete(key);
  }

  /** One client_credentials grant; never cached (also used to verify a new secret). */
  async request(credential: Credential, signal?: AbortSignal): Promise<TokenResult> {
    const response = await this.http.send({
      method: "POST",
      url: await this.tokenEndpoint(signal),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: credential.clientId,
        client_secret: credential.secret,
      }).toString(),
      repeatable: true,
      what: `get a token for ${labelOf(credential)}`,
      signal,
    });
    const body = response.body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (response.status === 200 && typeof body?.access_token === "string") {
      const expiresIn = Number(body.expires_in);
      return {
        ok: true,
        token: body.access_token,
        expiresInSeconds: Number.isFinite(expiresIn) ? expiresIn : 300,
      };
    }
    return {
      ok: false,
      // 400 invalid_client / 401: these credentials will not work; anything else may pass.
      rejected: response.status === 400 || response.status === 401,
      reason: `the token endpoint answered ${response.status}${errorDetail(response.body)}`,
    };
  }

  private async fetch(key: string, candidates: () => Promise<Credential[]>): Promise<string> {
    const credentials = await candidates();
    if (credentials.length === 0)
      throw new IssuerError("Rejected", `no credentials to authenticate ${key} with`);
    let reason = "";
    for (const credential of credentials) {
      const result = await this.request(credential);
      if (result.ok) {
        const lifetimeMs = result.expiresInSeconds * 1000;
        const refreshAt = Date.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 10);
        this.cache.set(key, { token: result.token, refreshAt });
        return result.token;
      }
      if (!result.rejected) throw new IssuerError("Unavailable", result.reason);
      reason = result.reason;
    }
    throw new IssuerError(
      "Rejected",
      `${labelOf(credentials[0] as Credential)} could not authenticate (${reason}): check its client id and secret`,
    );
  }
}
