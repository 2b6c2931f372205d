/**
 * Structured logs: JSON lines with level names (`--log-format=json`, the default), or readable
 * single lines (`text`). Secret values and bearer tokens never reach a log line, in either
 * format: known fields are censored by pino before the line is written (the text lines are made
 * from the censored JSON), and every error passes through `describeError`, which keeps the API
 * server's message but drops headers, bodies and anything that looks like a credential.
 */
import { ApiException } from "@kubernetes/client-node";
import { pino } from "pino";
import { textLine } from "./log-text.ts";

const REDACTED_FIELDS = [
  "secret",
  "value",
  "token",
  "accessToken",
  "access_token",
  "clientSecret",
  "client_secret",
  "authorization",
  "password",
];

export type Logger = pino.Logger;

/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Where lines go: stdout, unless a test catches them. */
export interface LogSink {
  write(line: string): void;
}

export function createLogger(
  level: string = process.env.ROTOR_LOG_LEVEL ?? "info",
  format: LogFormat = "json",
  sink: LogSink = pino.destination({ dest: 1, sync: true }),
): Logger {
  return pino(
    {
      level,
      base: { component: "rotor" },
      redact: {
        paths: [...REDACTED_FIELDS, ...REDACTED_FIELDS.map((f) => `*.${f}`), "headers.*", "*.headers.*"],
        censor: "[redacted]",
      },
      // "level":"info", not "level":30: what people and log pipelines search for.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    format === "text" ? { write: (line: string) => sink.write(textLine(line)) } : sink,
  );
}

/** Long runs of base64/hex characters: secret values, tokens, keys. Never shown. */
const CREDENTIAL_LIKE = /[A-Za-z0-9_\-+/]{32,}={0,2}/g;

/** A GUID: client ids are shown. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * Kubernetes names and `namespace/name` keys: lower case, in words joined by dashes or dots.
 * A run without any (a hex or base32 string) is never taken for a name.
 */
const KUBE_NAME =
  /^[a-z0-9]+([.-][a-z0-9]+)+(\/[a-z0-9]+([.-][a-z0-9]+)*)?$|^[a-z0-9]+\/[a-z0-9]+([.-][a-z0-9]+)+$/;

export function scrub(text: string): string {
  return text.replace(CREDENTIAL_LIKE, (match) =>
    GUID.test(match) || KUBE_NAME.test(match) ? match : "[redacted]",
  );
}

interface StatusBody {
  message?: string;
  reason?: string;
}

/** A message safe to log, put in an event or in a condition. */
export function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = parseBody(error.body);
    const detail = body?.message ?? body?.reason ?? "";
    return scrub(`Kubernetes API ${error.code}${detail ? `: ${detail}` : ""}`);
  }
  if (error instanceof Error) {
    if (error.name === "AbortError" || error.name === "TimeoutError") return "request timed out";
    return scrub(error.message);
  }
  return scrub(String(error));
}

function parseBody(body: unknown): StatusBody | undefined {
  if (!body) return undefined;
  if (typeof body === "object") return body as StatusBody;
  try {
    return JSON.parse(String(body)) as StatusBody;
  } catch {
    return undefined;
  }
}
