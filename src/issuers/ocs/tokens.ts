/**
 * Discovery and access tokens. The token endpoint comes from the tenant's OpenID discovery
 * document; tokens are cached until shortly before they expire, one fetch at a time per client.
 */
import { IssuerError } from "../issuer.ts";
import { errorDetail, type OcsHttp } from "./http.ts";

export interface Credential {
  clientId: string;
  secret: string;
}

export type TokenResult =
  | { ok: true; token: string; expiresInSeconds: number }
  | { ok: false; rejected: boolean; reason: string };

interface Cached {
  token: string;
  /** When to stop using it: a minute (or a tenth of its life) before it expires. */
  refreshAt: number;
}

export class TokenSource {
  private readonly http: OcsHttp;
  private readonly baseUrl: string;
  private endpoint: string | undefined;
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(http: OcsHttp, baseUrl: string) {
    this.http = http;
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  /** The discovered token endpoint, if discovery has succeeded. */
  get knownEndpoint(): string | undefined {
    return this.endpoint;
  }

  async tokenEndpoint(): Promise<string> {
    if (this.endpoint) return this.endpoint;
    const url = `${this.baseUrl}/identity/.well-known/openid-configuration`;
    const response = await this.http.send({
      method: "GET",
      url,
      repeatable: true,
      what: "read the OpenID discovery document",
    });
    const endpoint = (response.body as { token_endpoint?: unknown } | undefined)?.token_endpoint;
    if (response.status !== 200 || typeof endpoint !== "string" || !/^https?:\/\//.test(endpoint)) {
      throw new IssuerError(
        "Unavailable",
        `${url} answered ${response.status} without a token_endpoint: is spec.ocs.url the tenant's base URL?`,
      );
    }
    this.endpoint = endpoint;
    return endpoint;
  }

  /** A bearer token for `key`, from the first candidate credential the token endpoint accepts. */
  async token(key: string, candidates: () => Promise<Credential[]>): Promise<string> {
    const cached = this.cache.get(key);
    if (cached && cached.refreshAt > Date.now()) return cached.token;
    const running = this.inFlight.get(key);
    if (running) return running;
    const fetching = this.fetch(key, candidates).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, fetching);
    return fetching;
  }

  /** Forget a token the API refused (revoked, or its client's rights changed). */
  invalidate(key: string): void {
    this.cache.delete(key);
  }

  /** One client_credentials grant; never cached (also used to verify a new secret). */
  async request(credential: Credential): Promise<TokenResult> {
    const response = await this.http.send({
      method: "POST",
      url: await this.tokenEndpoint(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: credential.clientId,
        client_secret: credential.secret,
      }).toString(),
      repeatable: true,
      what: `get a token for client ${credential.clientId}`,
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
      `client ${credentials[0]?.clientId} could not authenticate (${reason}): check its client id and secret`,
    );
  }
}
