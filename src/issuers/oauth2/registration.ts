/**
 * RFC 7591 as Rotor speaks it: what a registration sends, what of the answer Rotor keeps, and
 * how a refusal reads. Pure: the issuer (issuer.ts) sends and stores.
 */
import type { RegistrationIssuerSpec } from "../../api/registration-issuer.ts";
import { oauthErrorDetail } from "../http/client-token.ts";
import { checkSameOrigin, type UrlPolicy } from "../http/urls.ts";
import { IssuerError } from "../issuer.ts";
import { baseOf } from "./discovery.ts";

/** What Rotor registers: client credentials only, with the issuer's metadata. */
export function registrationBody(
  client: RegistrationIssuerSpec["client"],
  clientName: string,
): Record<string, unknown> {
  return {
    client_name: clientName,
    grant_types: ["client_credentials"],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    ...(client.scope !== undefined ? { scope: client.scope } : {}),
    ...(client.audience !== undefined ? { audience: client.audience } : {}),
  };
}

/** A client the server registered and Rotor can delete (RFC 7592). */
export interface Registration {
  clientId: string;
  registrationClientUri: string;
  registrationAccessToken: string;
}

export type RegistrationAnswer =
  | { ok: true; registration: Registration; secret: string | undefined }
  /** A client may exist, but Rotor could not delete it by RFC 7592: `problem` says why. */
  | { ok: false; clientId: string | undefined; problem: string };

/** Longer values are not a server's answer: Rotor stores neither. */
const MAX_ID = 256;
const MAX_SECRET = 1024;
const MAX_TOKEN = 8192;
const MAX_URI = 2048;

const text = (value: unknown, max: number): string | undefined =>
  typeof value === "string" && value !== "" && value.length <= max ? value : undefined;

/**
 * What of a 2xx registration answer Rotor keeps. The registration access token is sent only to
 * the registration_client_uri, so that URI must pass the URL policy as the endpoints did.
 */
export function readRegistration(body: unknown, issuerUrl: string, policy: UrlPolicy): RegistrationAnswer {
  const answer = (body ?? {}) as Record<string, unknown>;
  const clientId = text(answer.client_id, MAX_ID);
  const uri = text(answer.registration_client_uri, MAX_URI);
  const token = text(answer.registration_access_token, MAX_TOKEN);
  if (!clientId) return { ok: false, clientId, problem: "the answer has no client_id" };
  if (!uri || !token || !URL.canParse(uri))
    return {
      ok: false,
      clientId,
      problem:
        "the answer has no registration_client_uri or registration_access_token (RFC 7592), so Rotor could never delete the client",
    };
  try {
    checkSameOrigin(uri, baseOf(issuerUrl), policy, {
      source: "the registration answer names",
      endpoint: "registration_client_uri",
      baseField: "spec.oauth2.issuerUrl",
      advice:
        "Rotor would have to send the registration access token there to delete the client, so it does not use the client; another host is allowed only by Rotor's flag --allow-foreign-token-endpoints",
    });
  } catch (error) {
    return { ok: false, clientId, problem: (error as Error).message };
  }
  return {
    ok: true,
    registration: { clientId, registrationClientUri: uri, registrationAccessToken: token },
    secret: text(answer.client_secret, MAX_SECRET),
  };
}

/** What to do about each RFC 7591 §3.2.2 error code, and about the statuses around it. */
const ADVICE: Record<string, string> = {
  invalid_client_metadata:
    "check spec.oauth2.client (scope, audience, tokenEndpointAuthMethod) against what the server allows",
  invalid_redirect_uri:
    "the server wants redirect URIs, which a client-credentials client has none of: allow registration without them",
  invalid_software_statement: "the server demands a software statement, which Rotor does not send",
  unapproved_software_statement:
    "the server demands an approved software statement, which Rotor does not send",
};

/**
 * A definite refusal (4xx) of a registration, as the ClientCredential's condition shows it:
 * the server's error code and description (scrubbed, shortened, without what Rotor sent) and
 * what to do. `initialAccessToken` is the token Rotor sent, if any: never shown.
 */
export function describeRefusal(
  status: number,
  body: unknown,
  endpoint: string,
  initialAccessToken: string | undefined,
): string {
  const detail = oauthErrorDetail(body, [initialAccessToken]);
  const code = (body as { error?: unknown } | undefined)?.error;
  const advice =
    typeof code === "string" && ADVICE[code]
      ? ADVICE[code]
      : status === 401 || status === 403
        ? initialAccessToken === undefined
          ? "the server demands an initial access token: put one in a Secret and name it in spec.oauth2.initialAccessToken"
          : "the initial access token was refused (expired, used up, or for another realm): put a new one in its Secret"
        : status === 404 || status === 405
          ? "dynamic client registration is not enabled at the server, or spec.oauth2.registrationEndpoint is wrong"
          : "check the server's registration policy and spec.oauth2.client";
  return `the server refused to register a client at ${endpoint} (${status}${detail}): ${advice}`;
}

/** How an unconfirmed registration is listed: Rotor's marker in its description, this id. */
const UNCONFIRMED = "unconfirmed-";
export const unconfirmedId = (nonce: string): string => `${UNCONFIRMED}${nonce}`;
export const nonceOf = (id: string): string | undefined =>
  id.startsWith(UNCONFIRMED) ? id.slice(UNCONFIRMED.length) : undefined;

/** The error, with each of `secrets` (what the request carried) cut out of its message. */
export function withoutSecrets(error: unknown, secrets: Array<string | undefined>): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  let message = original.message;
  for (const secret of secrets) if (secret) message = message.split(secret).join("[redacted]");
  if (message === original.message) return original;
  return original instanceof IssuerError ? new IssuerError(original.kind, message) : new Error(message);
}
