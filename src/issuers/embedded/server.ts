/**
 * The embedded issuer's OAuth2 endpoints (RFC 6749 client_credentials grant, with
 * client_secret_basic and client_secret_post), OpenID discovery and the JWKS.
 */
import type { IncomingMessage } from "node:http";
import { type HttpServer, json, readBody } from "../../runtime/http.ts";
import type { Logger } from "../../runtime/log.ts";
import { FailureLimiter } from "./ratelimit.ts";
import { type ClientRegistry, matchSecret } from "./registry.ts";
import type { SigningKey } from "./signing.ts";

export const TOKEN_PATH = "/oauth2/token";
export const JWKS_PATH = "/oauth2/jwks";
export const DISCOVERY_PATH = "/.well-known/openid-configuration";

export interface TokenEndpointOptions {
  /** The issuer URL as clients reach it, e.g. http://rotor.rotor-system.svc:8080 */
  issuerUrl: string;
  audience: string;
  tokenLifetimeSeconds: number;
  registry: ClientRegistry;
  key: SigningKey;
  log: Logger;
  onToken?: (outcome: "issued" | "invalid_client" | "invalid_request" | "rate_limited") => void;
  now?: () => Date;
}

interface Credentials {
  clientId: string;
  clientSecret: string;
  method: "client_secret_basic" | "client_secret_post";
}

export function mountTokenEndpoint(server: HttpServer, options: TokenEndpointOptions): void {
  const limiter = new FailureLimiter();
  const now = options.now ?? (() => new Date());
  const base = options.issuerUrl.replace(/\/$/, "");

  server.route(DISCOVERY_PATH, (_req, res) =>
    json(res, 200, {
      issuer: base,
      token_endpoint: `${base}${TOKEN_PATH}`,
      jwks_uri: `${base}${JWKS_PATH}`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      response_types_supported: ["token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
    }),
  );
  server.route(JWKS_PATH, (_req, res) => json(res, 200, { keys: [options.key.publicJwk] }));

  server.route(TOKEN_PATH, async (req, res) => {
    const reply = (
      status: number,
      error: string,
      description: string,
      headers: Record<string, string> = {},
    ) => {
      json(res, status, { error, error_description: description }, headers);
    };
    if (req.method !== "POST") {
      reply(405, "invalid_request", "use POST", { allow: "POST" });
      return;
    }
    if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      reply(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get("grant_type");
    if (!grant) {
      options.onToken?.("invalid_request");
      reply(400, "invalid_request", "grant_type is required");
      return;
    }
    if (grant !== "client_credentials") {
      options.onToken?.("invalid_request");
      reply(400, "unsupported_grant_type", "only the client_credentials grant is supported");
      return;
    }
    const credentials = readCredentials(req, form);
    if ("error" in credentials) {
      options.onToken?.("invalid_request");
      reply(credentials.status, credentials.error, credentials.description, credentials.headers);
      return;
    }
    const record = options.registry.cached(credentials.clientId);
    const wait = record ? limiter.retryAfterSeconds(record.clientId) : 0;
    if (wait > 0) {
      options.onToken?.("rate_limited");
      reply(429, "temporarily_unavailable", "too many failed authentications for this client", {
        "retry-after": String(wait),
      });
      return;
    }
    const at = now();
    const secret = record ? matchSecret(record, credentials.clientSecret, at) : undefined;
    if (!record || !secret) {
      if (record) limiter.fail(record.clientId);
      options.onToken?.("invalid_client");
      // The same answer for an unknown client, a wrong, revoked or expired secret.
      reply(401, "invalid_client", "client authentication failed", {
        "www-authenticate": `Basic realm="rotor", error="invalid_client"`,
      });
      return;
    }
    const secondsLeft = Math.floor((Date.parse(secret.expiration) - at.getTime()) / 1000);
    const lifetime = Math.max(1, Math.min(options.tokenLifetimeSeconds, secondsLeft));
    const scope = form.get("scope") ?? undefined;
    const token = await options.key.sign(
      { client_id: record.clientId, "rotor.dev/secret-id": secret.id, ...(scope ? { scope } : {}) },
      lifetime,
      base,
      options.audience,
      record.clientId,
    );
    options.onToken?.("issued");
    json(res, 200, {
      access_token: token,
      token_type: "Bearer",
      expires_in: lifetime,
      ...(scope ? { scope } : {}),
    });
  });
}

type CredentialError = {
  error: string;
  description: string;
  status: number;
  headers?: Record<string, string>;
};

function readCredentials(req: IncomingMessage, form: URLSearchParams): Credentials | CredentialError {
  const header = req.headers.authorization;
  const postId = form.get("client_id");
  const postSecret = form.get("client_secret");
  if (header?.startsWith("Basic ")) {
    if (postSecret) {
      return {
        error: "invalid_request",
        description: "use one client authentication method, not two",
        status: 400,
      };
    }
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0)
      return { error: "invalid_client", description: "malformed Basic credentials", status: 401 };
    // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    try {
      return {
        clientId: formDecode(decoded.slice(0, colon)),
        clientSecret: formDecode(decoded.slice(colon + 1)),
        method: "client_secret_basic",
      };
    } catch {
      return { error: "invalid_client", description: "malformed Basic credentials", status: 401 };
    }
  }
  if (postId && postSecret)
    return { clientId: postId, clientSecret: postSecret, method: "client_secret_post" };
  return {
    error: "invalid_client",
    description: "client authentication is required (client_secret_basic or client_secret_post)",
    status: 401,
    headers: { "www-authenticate": `Basic realm="rotor"` },
  };
}

const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
