/**
 * The identity server in front of the API: the OpenID discovery document and the token endpoint
 * (client_credentials grant, client_secret_post or client_secret_basic). Access tokens are
 * opaque random strings the store maps to their client and expiry; real OCS tokens are JWTs,
 * but Rotor must treat them as opaque anyway.
 */
import type { Incoming, Reply } from "./reply.ts";
import { type Store, TOKEN_SCOPE } from "./store.ts";

export const DISCOVERY_PATH = "/identity/.well-known/openid-configuration";
export const TOKEN_PATH = "/identity/connect/token";

/** `tokenEndpoint`: what a hostile document names instead (hostile.ts). */
export function discovery(baseUrl: string, tokenEndpoint = `${baseUrl}${TOKEN_PATH}`): Reply {
  return {
    status: 200,
    body: {
      issuer: `${baseUrl}/identity`,
      token_endpoint: tokenEndpoint,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
      scopes_supported: [TOKEN_SCOPE],
      response_types_supported: ["token"],
    },
  };
}

/**
 * Checks in the order IdentityServer does: the HTTP request, then the client, then the grant.
 * Every failure is a 400, a refused client included.
 */
export function token(store: Store, request: Incoming): Reply {
  const form = request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded");
  if (request.method !== "POST" || !form)
    return oauthError("invalid_request", "POST an application/x-www-form-urlencoded body");
  const params = new URLSearchParams(request.body);
  const credentials = readCredentials(request.headers.authorization, params);
  const client = credentials && store.authenticate(credentials.clientId, credentials.secret);
  if (!client) return oauthError("invalid_client");
  const grant = params.get("grant_type");
  if (!grant) return oauthError("invalid_request", "grant_type is required");
  if (grant !== "client_credentials") return oauthError("unsupported_grant_type");
  const issued = store.issueToken(client);
  return {
    status: 200,
    headers: { "cache-control": "no-store", pragma: "no-cache" },
    body: {
      access_token: issued.token,
      expires_in: issued.expiresIn,
      token_type: "Bearer",
      scope: TOKEN_SCOPE,
    },
  };
}

function oauthError(error: string, description?: string): Reply {
  return {
    status: 400,
    headers: { "cache-control": "no-store" },
    body: description ? { error, error_description: description } : { error },
  };
}

/** HTTP Basic first; both parts are form-urlencoded before they are joined (RFC 6749 §2.3.1). */
function readCredentials(
  header: string | undefined,
  params: URLSearchParams,
): { clientId: string; secret: string } | undefined {
  if (header?.toLowerCase().startsWith("basic ")) {
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    try {
      return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
    } catch {
      return undefined;
    }
  }
  const clientId = params.get("client_id");
  const secret = params.get("client_secret");
  return clientId && secret ? { clientId, secret } : undefined;
}

const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
