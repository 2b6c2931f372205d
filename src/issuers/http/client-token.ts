/**
 * One OAuth2 client_credentials token request (RFC 6749 §4.4), as a workload makes it: with
 * HTTP Basic (client_secret_basic; both parts form-urlencoded first, RFC 6749 §2.3.1) or with
 * the credentials as form fields (client_secret_post). Used to verify a new secret before any
 * workload is switched to it. Never cached; the answer's token is not kept.
 */
import { scrub } from "../../runtime/log.ts";
import type { IssuerHttp } from "./http.ts";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post";

export type ClientTokenResult =
  | { ok: true; expiresInSeconds: number }
  /** `refused`: these credentials will not work (invalid_client); otherwise asking again may. */
  | { ok: false; refused: boolean; reason: string };

export interface ClientTokenRequest {
  endpoint: string;
  clientId: string;
  secret: string;
  method: ClientAuthMethod;
  signal?: AbortSignal;
}

export async function clientCredentialsToken(
  http: IssuerHttp,
  request: ClientTokenRequest,
): Promise<ClientTokenResult> {
  const { clientId, secret, method } = request;
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (method === "client_secret_post") {
    form.set("client_id", clientId);
    form.set("client_secret", secret);
  } else {
    const pair = `${formEncode(clientId)}:${formEncode(secret)}`;
    headers.authorization = `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
  }
  const response = await http.send({
    method: "POST",
    url: request.endpoint,
    headers,
    body: form.toString(),
    repeatable: true,
    what: `get a token for client ${clientId}`,
    signal: request.signal,
  });
  const body = response.body as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
  if (response.status === 200 && typeof body?.access_token === "string" && body.access_token !== "") {
    const expiresIn = Number(body.expires_in);
    return { ok: true, expiresInSeconds: Number.isFinite(expiresIn) ? expiresIn : 0 };
  }
  return {
    ok: false,
    // RFC 6749 §5.2: a client that failed to authenticate gets invalid_client, with 401 where it
    // used the Authorization header; anything else (a scope, the server's trouble) may pass.
    refused: response.status === 401 || body?.error === "invalid_client",
    reason: `the token endpoint answered ${response.status}${oauthErrorDetail(response.body, [secret])}`,
  };
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 wants each part before Basic encoding. */
export const formEncode = (text: string): string =>
  new URLSearchParams({ x: text }).toString().slice("x=".length);

/** The longest part of a server's error shown in a message. */
const MAX_DETAIL = 300;

/**
 * `: <error> (<error_description>)` of an OAuth2 error answer (RFC 6749 §5.2, RFC 7591 §3.2.2),
 * shortened, scrubbed of anything credential-like and of each of `secrets` (what the request
 * carried: a server may echo it).
 */
export function oauthErrorDetail(body: unknown, secrets: Array<string | undefined> = []): string {
  if (!body || typeof body !== "object") return "";
  const { error, error_description: description } = body as Record<string, unknown>;
  const parts = [error, description].filter((p): p is string => typeof p === "string" && p.trim() !== "");
  if (parts.length === 0) return "";
  let text = parts.length === 2 ? `${parts[0]} (${parts[1]})` : (parts[0] as string);
  for (const secret of secrets) if (secret) text = text.split(secret).join("[redacted]");
  text = scrub(text.replace(/\s+/g, " ").trim());
  return `: ${text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text}`;
}
