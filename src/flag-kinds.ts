/**
 * The kinds of value Rotor's flags take (flags.ts), each with its check and the words a user
 * sees after the flag's name when a value is wrong: `--port must be a whole number from 0 to
 * 65535, not "99999"`.
 */
import { accessSync, constants, statSync } from "node:fs";
import { formatDuration, parseDuration } from "./api/duration.ts";
import type { Kind } from "./runtime/args.ts";

/**
 * The longest delay a Node timer takes (2^31 − 1 ms, 24.8 days): a longer one fires at once,
 * so a flag Rotor waits on is at most this.
 */
export const TIMER_MAX = "596h";

const q = (value: string) => JSON.stringify(value);

export function text(rule?: { pattern: RegExp; what: string }, placeholder = "TEXT"): Kind<string> {
  return {
    placeholder,
    check: (value) =>
      rule && !rule.pattern.test(value) ? { problem: `must be ${rule.what}, not ${q(value)}` } : { value },
  };
}

/** A string checked by a function that returns what is wrong with it, if anything. */
export function checked(
  problemOf: (value: string) => string | undefined,
  placeholder = "TEXT",
): Kind<string> {
  return {
    placeholder,
    check: (value) => {
      const problem = problemOf(value);
      return problem ? { problem: `${problem}, not ${q(value)}` } : { value };
    },
  };
}

export function oneOf<T extends string>(values: readonly T[], placeholder = values.join("|")): Kind<T> {
  return {
    placeholder,
    check: (value) =>
      (values as readonly string[]).includes(value)
        ? { value: value as T }
        : { problem: `must be one of ${values.join(", ")}, not ${q(value)}` },
  };
}

/** A whole number in [min, max], digits only (no 1e3, no 0x10, no 8.5). */
export function count(min: number, max = 100_000, placeholder = "N"): Kind<number> {
  return {
    placeholder,
    check: (value) => {
      const n = /^[0-9]{1,9}$/.test(value) ? Number(value) : Number.NaN;
      return n >= min && n <= max
        ? { value: n }
        : { problem: `must be a whole number from ${min} to ${max}, not ${q(value)}` };
    },
  };
}

export const port = (): Kind<number> => count(0, 65_535, "PORT");

/** A Go duration (90s, 5m, 1h30m) within bounds, in milliseconds; `zero` allows 0s with that meaning. */
export function duration(bounds: { min?: string; max?: string; zero?: string } = {}): Kind<number> {
  const min = parseDuration(bounds.min ?? "1s");
  const max = parseDuration(bounds.max ?? TIMER_MAX);
  const range = `from ${bounds.min ?? "1s"} to ${bounds.max ?? TIMER_MAX}${bounds.zero ? `, or 0s (${bounds.zero})` : ""}`;
  return {
    placeholder: "DURATION",
    check: (value) => {
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch {
        return { problem: `must be a Go duration such as 90s, 5m or 1h30m (${range}), not ${q(value)}` };
      }
      if (ms === 0 && bounds.zero) return { value: 0 };
      return ms >= min && ms <= max
        ? { value: ms }
        : {
            problem: `must be ${range}, not ${q(value)}${value === formatDuration(ms) ? "" : ` (${formatDuration(ms)})`}`,
          };
    },
  };
}

/** An absolute http or https URL with a host. */
export function url(example: string): Kind<string> {
  return {
    placeholder: "URL",
    check: (value) => {
      const parsed = URL.canParse(value) ? new URL(value) : undefined;
      const web = parsed && (parsed.protocol === "https:" || parsed.protocol === "http:") && parsed.hostname;
      return web
        ? { value }
        : { problem: `must be an absolute http(s) URL such as ${example}, not ${q(value)}` };
    },
  };
}

/** A file that exists and that this process may read (a mounted Secret, a kubeconfig). */
export function file(): Kind<string> {
  return {
    placeholder: "FILE",
    check: (value) => {
      try {
        if (!statSync(value).isFile()) return { problem: `must name a file: ${q(value)} is not one` };
        accessSync(value, constants.R_OK);
        return { value };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return { problem: `must name a file: there is none at ${q(value)}` };
        if (code === "EACCES") return { problem: `names ${q(value)}, which this process may not read` };
        return { problem: `names ${q(value)}, which cannot be read (${code})` };
      }
    },
  };
}
