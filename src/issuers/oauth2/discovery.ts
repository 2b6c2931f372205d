/**
 * The server's token and registration endpoints, from its discovery document: OpenID Connect
 * discovery at `{issuerUrl}/.well-known/openid-configuration`, else RFC 8414's
 * `{issuerUrl}/.well-known/oauth-authorization-server`. spec.oauth2.registrationEndpoint names
 * the registration endpoint where discovery does not (Ory Hydra lists it only when configured to).
 *
 * Both endpoints receive credentials (secrets, the initial access token) and answer new secrets,
 * so both must pass the URL policy (../http/urls.ts): https or loopback, on issuerUrl's origin.
 * A discovery that succeeded is kept for the connection (one per spec); check() asks again.
 */
import { type IssuerHttp, within } from "../http/http.ts";
import { checkIssuerUrl, checkSameOrigin, type UrlPolicy } from "../http/urls.ts";
import { IssuerError } from "../issuer.ts";

export interface Endpoints {
  token: string;
  registration: string;
}

/** The server names no registration endpoint and the spec none either: the issuer's Ready reason. */
export class NoRegistrationEndpoint extends IssuerError {
  readonly reason = "NoRegistrationEndpoint";

  constructor(message: string) {
    super("Rejected", message);
  }
}

export interface DiscoverySpec {
  issuerUrl: string;
  registrationEndpoint?: string | undefined;
}

const WELL_KNOWN = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"];
const FOREIGN_FLAG = "is allowed only by Rotor's flag --allow-foreign-token-endpoints";

const isHttpUrl = (value: unknown): value is string =>
  typeof value === "string" && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

/** Strips trailing slashes: `{issuerUrl}/.well-known/…` must not have two. */
export const baseOf = (issuerUrl: string): string => issuerUrl.replace(/\/+$/, "");

/**
 * The endpoints a discovery document (at `documentUrl`) and the spec give, or why Rotor will not
 * use them: UrlRefused (the policy), NoRegistrationEndpoint, or Unavailable (no token endpoint).
 */
export function endpointsFrom(
  document: unknown,
  documentUrl: string,
  spec: DiscoverySpec,
  policy: UrlPolicy,
): Endpoints {
  const named = (document ?? {}) as { token_endpoint?: unknown; registration_endpoint?: unknown };
  if (!isHttpUrl(named.token_endpoint))
    throw new IssuerError(
      "Unavailable",
      `${documentUrl} names no http(s) token_endpoint: is spec.oauth2.issuerUrl the server's issuer URL?`,
    );
  const base = baseOf(spec.issuerUrl);
  checkSameOrigin(named.token_endpoint, base, policy, {
    source: "the discovery document names",
    endpoint: "token endpoint",
    baseField: "spec.oauth2.issuerUrl",
    advice: `Check spec.oauth2.issuerUrl; a token endpoint on another host ${FOREIGN_FLAG}`,
  });
  let registration: string;
  if (spec.registrationEndpoint !== undefined) {
    registration = spec.registrationEndpoint;
    checkSameOrigin(registration, base, policy, {
      source: "spec.oauth2.registrationEndpoint is",
      endpoint: "registration endpoint",
      baseField: "spec.oauth2.issuerUrl",
      advice: `Put the server's own registration endpoint there; one on another host ${FOREIGN_FLAG}`,
    });
  } else {
    if (named.registration_endpoint === undefined)
      throw new NoRegistrationEndpoint(
        `${documentUrl} names no registration_endpoint: set spec.oauth2.registrationEndpoint (Ory Hydra: {public URL}/oauth2/register), and check that the server allows dynamic client registration`,
      );
    if (!isHttpUrl(named.registration_endpoint))
      throw new IssuerError(
        "Unavailable",
        `${documentUrl} names a registration_endpoint that is not an http(s) URL`,
      );
    registration = named.registration_endpoint;
    checkSameOrigin(registration, base, policy, {
      source: "the discovery document names",
      endpoint: "registration endpoint",
      baseField: "spec.oauth2.issuerUrl",
      advice: `Check spec.oauth2.issuerUrl, or name the registration endpoint in spec.oauth2.registrationEndpoint; one on another host ${FOREIGN_FLAG}`,
    });
  }
  return { token: named.token_endpoint, registration };
}

export class Discovery {
  private readonly http: IssuerHttp;
  private readonly spec: DiscoverySpec;
  private readonly policy: UrlPolicy;
  private found: Endpoints | undefined;
  private discovering: Promise<Endpoints> | undefined;

  constructor(http: IssuerHttp, spec: DiscoverySpec, policy: UrlPolicy) {
    this.http = http;
    this.spec = spec;
    this.policy = policy;
  }

  /** The endpoints, if a discovery has succeeded. */
  get known(): Endpoints | undefined {
    return this.found;
  }

  /**
   * The endpoints, discovered once (concurrent callers share one discovery; `fresh` asks again).
   * Throws UrlRefused, before any request is sent, when issuerUrl may not carry credentials.
   */
  async endpoints(signal?: AbortSignal, options: { fresh?: boolean } = {}): Promise<Endpoints> {
    if (this.found && !options.fresh) return this.found;
    checkIssuerUrl(this.spec.issuerUrl, this.policy, "spec.oauth2.issuerUrl");
    this.discovering ??= this.discover().finally(() => {
      this.discovering = undefined;
    });
    return within(this.discovering, signal, "read the server's discovery document", this.http.callTimeoutMs);
  }

  private async discover(): Promise<Endpoints> {
    const base = baseOf(this.spec.issuerUrl);
    const answers: string[] = [];
    for (const path of WELL_KNOWN) {
      const url = `${base}${path}`;
      const response = await this.http.send({
        method: "GET",
        url,
        repeatable: true,
        what: "read the server's discovery document",
      });
      if (response.status === 200 && response.body && typeof response.body === "object") {
        this.found = endpointsFrom(response.body, url, this.spec, this.policy);
        return this.found;
      }
      answers.push(`${path} answered ${response.status}`);
    }
    throw new IssuerError(
      "Unavailable",
      `${base} has no discovery document (${answers.join(", ")}): is spec.oauth2.issuerUrl the server's issuer URL?`,
    );
  }
}
