/**
 * Reading and checking request bodies, so that a request OCS would refuse with 400 (a missing
 * field, an expiration in the past, a description too long) is refused here too. Field names are
 * matched without regard to case, as ASP.NET's JSON binding does.
 */
import { ApiError, type Incoming } from "./reply.ts";
import {
  type ClientSettings,
  DEFAULT_ACCESS_TOKEN_LIFETIME,
  MAX_DESCRIPTION_LENGTH,
  type SecretSpec,
} from "./store.ts";

type Body = Record<string, unknown>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const invalid = (reason: string) =>
  new ApiError(400, "Invalid request", reason, "Correct the request and send it again.");

export function readJson(request: Incoming): Body {
  const type = request.headers["content-type"] ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type))
    throw new ApiError(415, "Unsupported media type", `Content-Type is "${type}".`, "Send application/json.");
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    throw invalid("The body is not JSON.");
  }
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw invalid("The body is not a JSON object.");
  return body as Body;
}

function field(body: Body, name: string): unknown {
  const found = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase());
  return found === undefined ? undefined : body[found];
}

function optional<T>(body: Body, name: string, check: (v: unknown) => v is T, what: string): T | undefined {
  const value = field(body, name);
  if (value === undefined || value === null) return undefined;
  if (!check(value)) throw invalid(`${name} must be ${what}.`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isNumber = (v: unknown): v is number => typeof v === "number";
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** `{Id?, Name, Enabled?, AccessTokenLifetime?, RoleIds, Tags?, SecretDescription?, SecretExpirationDate?}` */
export function clientCreation(body: Body, now = Date.now()) {
  const id = optional(body, "Id", isString, "a GUID");
  if (id !== undefined && !GUID.test(id)) throw invalid("Id must be a GUID.");
  return {
    id,
    settings: clientSettings(body),
    secret: secretSpec(
      optional(body, "SecretDescription", isString, "a string") ?? "",
      optional(body, "SecretExpirationDate", isString, "an ISO 8601 date"),
      true,
      now,
    ),
  };
}

/** The same fields as a creation, without the secret; Id in the body is ignored. */
export function clientSettings(body: Body): ClientSettings {
  const name = optional(body, "Name", isString, "a string");
  if (!name?.trim()) throw invalid("Name is required.");
  const lifetime = optional(body, "AccessTokenLifetime", isNumber, "a number of seconds");
  if (lifetime !== undefined && !(Number.isInteger(lifetime) && lifetime >= 60 && lifetime <= 3600))
    throw invalid("AccessTokenLifetime must be between 60 and 3600 seconds.");
  // Which roles a tenant has, and that the Member role is among them, is the store's to check.
  const roleIds = optional(body, "RoleIds", isStrings, "a list of role ids") ?? [];
  return {
    name,
    enabled: optional(body, "Enabled", isBoolean, "true or false") ?? true,
    accessTokenLifetime: lifetime ?? DEFAULT_ACCESS_TOKEN_LIFETIME,
    roleIds,
    tags: optional(body, "Tags", isStrings, "a list of strings") ?? [],
  };
}

/** `{Description?, Expiration?, Expires?}`: Expires defaults to true, and then needs Expiration. */
export function secretCreation(body: Body, now = Date.now()): SecretSpec {
  const expires = optional(body, "Expires", isBoolean, "true or false") ?? true;
  const expiration = optional(body, "Expiration", isString, "an ISO 8601 date");
  if (expires && expiration === undefined) throw invalid("Expiration is required when Expires is true.");
  neverExpiringWithExpiration(body);
  return secretSpec(optional(body, "Description", isString, "a string") ?? "", expiration, expires, now);
}

/** A PUT: whatever is absent stays as it was. */
export function secretUpdate(body: Body, current: SecretSpec, now = Date.now()): SecretSpec {
  neverExpiringWithExpiration(body);
  const expires = optional(body, "Expires", isBoolean, "true or false") ?? current.expiration !== undefined;
  const expiration = optional(body, "Expiration", isString, "an ISO 8601 date") ?? current.expiration;
  if (expires && expiration === undefined) throw invalid("Expiration is required when Expires is true.");
  const description = optional(body, "Description", isString, "a string") ?? current.description;
  return secretSpec(description, expiration, expires, now);
}

/**
 * "If Expires is set to false and expiration is not null, a 400 error will be returned." Judged
 * on the body as sent: a PUT of `Expires: false` alone makes an expiring secret never expire.
 */
function neverExpiringWithExpiration(body: Body): void {
  const expiration = field(body, "Expiration");
  if (field(body, "Expires") === false && expiration !== undefined && expiration !== null)
    throw invalid("Expiration must be null when Expires is false.");
}

function secretSpec(
  description: string,
  expiration: string | undefined,
  expires: boolean,
  now: number,
): SecretSpec {
  if (description.length > MAX_DESCRIPTION_LENGTH)
    throw invalid(`Description is longer than ${MAX_DESCRIPTION_LENGTH} characters.`);
  if (!expires || expiration === undefined) return { description, expiration: undefined };
  const at = Date.parse(expiration);
  if (Number.isNaN(at)) throw invalid(`Expiration "${expiration}" is not a date.`);
  if (at <= now) throw invalid("Expiration is in the past.");
  return { description, expiration: new Date(at).toISOString() };
}
