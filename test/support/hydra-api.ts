/**
 * What a test asks a real Hydra (support/hydra.ts) directly, beside Rotor: the token endpoint as
 * a consumer would call it, admin introspection and the admin client listing, and RFC 7591/7592
 * calls for clients Rotor does not own. Each answers the HTTP status and the parsed body, so a
 * test can assert refusals as well as successes.
 */

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A Hydra client as the admin API and RFC 7592 GET show it (never with its secret). */
export interface HydraClient {
  client_id: string;
  client_name: string;
  grant_types: string[] | null;
  scope: string;
  audience: string[];
  owner: string;
  token_endpoint_auth_method: string;
  created_at: string;
}

/** What `POST /oauth2/register` answers (201) besides the client's metadata. */
export interface Registered extends HydraClient {
  client_secret: string;
  client_secret_expires_at: number;
  registration_access_token: string;
  registration_client_uri: string;
}

async function call<T>(url: string, init: RequestInit = {}): Promise<Answer<T>> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a 404 page, say): the text is the body.
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

const json = (body: unknown): RequestInit => ({
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** RFC 7591 registration; `metadata` as sent (e.g. `{ client_name, grant_types, scope, audience }`). */
export function register(registrationUrl: string, metadata: Record<string, unknown>) {
  return call<Registered & { error?: string; error_description?: string }>(registrationUrl, {
    method: "POST",
    ...json(metadata),
  });
}

/** RFC 7592 read, update (answers a new registration access token) or delete (204). */
export function manageRegistration(
  clientUri: string,
  registrationAccessToken: string,
  method: "GET" | "PUT" | "DELETE",
  metadata?: Record<string, unknown>,
) {
  const body = metadata ? json(metadata) : {};
  return call<Partial<Registered> & { error?: string; error_description?: string }>(clientUri, {
    method,
    ...body,
    headers: { ...body.headers, ...bearer(registrationAccessToken) },
  });
}

export interface TokenOptions {
  /** How the client authenticates; Hydra refuses the one it was not registered with. */
  method?: "client_secret_basic" | "client_secret_post";
  scope?: string;
  audience?: string;
}

/** A client-credentials token from `<public>/oauth2/token`, as a consumer asks for one. */
export function token(publicUrl: string, clientId: string, secret: string, options: TokenOptions = {}) {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (options.scope) form.set("scope", options.scope);
  if (options.audience) form.set("audience", options.audience);
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (options.method === "client_secret_post") {
    form.set("client_id", clientId);
    form.set("client_secret", secret);
  } else {
    // RFC 6749 2.3.1: both parts form-urlencoded before Basic encoding.
    const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
  }
  return call<{ access_token?: string; expires_in?: number; scope?: string; error?: string }>(
    `${publicUrl}/oauth2/token`,
    { method: "POST", body: form, headers },
  );
}

/** Admin introspection: `{ active: true, client_id, … }` or `{ active: false }`. */
export async function introspect(adminUrl: string, accessToken: string) {
  const answer = await call<{ active: boolean; client_id?: string }>(`${adminUrl}/admin/oauth2/introspect`, {
    method: "POST",
    body: new URLSearchParams({ token: accessToken }),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  if (answer.status !== 200) throw new Error(`introspection answered ${answer.status}`);
  return answer.body;
}

/** One client by id through the admin API, or undefined when Hydra has none (404). */
export async function getClient(adminUrl: string, clientId: string): Promise<HydraClient | undefined> {
  const answer = await call<HydraClient>(`${adminUrl}/admin/clients/${encodeURIComponent(clientId)}`);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new Error(`GET /admin/clients/${clientId} answered ${answer.status}`);
  return answer.body;
}

/**
 * Every client (with this exact `client_name`, when given) through the admin listing, page by
 * page. Hydra's `Link` counts all clients, not the filtered ones, so a page shorter than the page
 * size ends the listing, not a missing `next`.
 */
export async function listClients(adminUrl: string, clientName?: string, pageSize = 250) {
  const clients: HydraClient[] = [];
  let url: string | undefined =
    `${adminUrl}/admin/clients?page_size=${pageSize}` +
    (clientName === undefined ? "" : `&client_name=${encodeURIComponent(clientName)}`);
  while (url) {
    const answer: Answer<HydraClient[]> = await call<HydraClient[]>(url);
    if (answer.status !== 200) throw new Error(`GET /admin/clients answered ${answer.status}`);
    clients.push(...answer.body);
    const next = answer.headers.get("link")?.match(/<([^>]*)>;\s*rel="next"/)?.[1];
    url = answer.body.length < pageSize || !next ? undefined : new URL(next, adminUrl).toString();
  }
  return clients;
}
