/**
 * Command-line syntax as Kubernetes tools (pflag) read it: `--name=value` and `--name value`;
 * every boolean as `--name`, `--name=true|false` or `--no-name`. Unknown flags and stray words are
 * refused, with the nearest known flag when there is one. Pure: a mistake is thrown as a
 * `UsageError`, which the program turns into exit code 2 (so the rules can be tested as a table).
 */

/** A mistake on the command line: the program prints the message (no stack) and exits with 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface Syntax {
  boolean: boolean;
}

export type RawValues = Map<string, string | boolean>;

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false };

/** Reads `args` against the known flags; the last of a repeated flag wins (as with pflag). */
export function readArgs(args: readonly string[], known: Readonly<Record<string, Syntax>>): RawValues {
  const values: RawValues = new Map();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "-h") {
      values.set("help", true);
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      const previous = args[i - 1]?.replace(/^--/, "");
      const hint =
        previous && known[previous]?.boolean && arg.toLowerCase() in BOOLEAN_WORDS
          ? ` (write --${previous}=${arg.toLowerCase()})`
          : "";
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: Rotor takes flags only${hint}`);
    }
    const body = arg.slice(2);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const syntax = known[name];

    if (!syntax) {
      const negated = name.startsWith("no-") ? known[name.slice(3)] : undefined;
      if (negated?.boolean) {
        if (inline !== undefined) throw new UsageError(`--${name} takes no value (use --${name.slice(3)}=…)`);
        values.set(name.slice(3), false);
        continue;
      }
      if (negated) throw new UsageError(`--${name}: only boolean flags have a --no- form`);
      const negations = Object.keys(known)
        .filter((n) => known[n]?.boolean)
        .map((n) => `no-${n}`);
      const near = nearest(name, [...Object.keys(known), ...negations]);
      throw new UsageError(`unknown flag --${name}${near ? ` (did you mean --${near}?)` : ""}`);
    }

    if (syntax.boolean) {
      if (inline === undefined) values.set(name, true);
      else {
        const value = BOOLEAN_WORDS[inline.toLowerCase()];
        if (value === undefined)
          throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(inline)}`);
        values.set(name, value);
      }
      continue;
    }
    if (inline !== undefined) {
      values.set(name, inline);
      continue;
    }
    const next = args[i + 1];
    if (next === undefined || next.startsWith("-"))
      throw new UsageError(`--${name} needs a value (--${name}=VALUE)`);
    values.set(name, next);
    i++;
  }
  return values;
}

/** The known name closest to a mistyped one, if it is close enough to be what was meant. */
export function nearest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of names) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // A third of the name may be wrong, at least two letters: --loglevel, --leader-election, --wrokers.
  const close = bestDistance <= Math.max(2, Math.floor(name.length / 3));
  // A prefix of one flag only (--metrics for --metrics-port) is close whatever the length.
  const prefixed = names.filter((n) => n.startsWith(name) || name.startsWith(n));
  if (close) return best;
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** What a flag's value must be: `check` turns the text into the value, or says what is wrong. */
export interface Kind<T = unknown> {
  /** In `--help`: `--name=PLACEHOLDER`. */
  placeholder: string;
  check(text: string): { value: T } | { problem: string };
}

export interface FlagSpec {
  group: string;
  /** One line for `--help`: what the flag does (the default is added). */
  help: string;
  /** Absent: a boolean (`--x`, `--x=false`, `--no-x`). */
  kind?: Kind;
  default?: string | boolean;
  /** An environment variable whose value, when set, is the default. */
  env?: string;
  /** How `--help` words the default when the environment gives none; default: `default`. */
  fallback?: string;
}

export type Values = Map<string, unknown>;

/**
 * Every flag's value, checked: given, else from its environment variable, else its default.
 * Throws one `UsageError` listing every bad value (and where it came from).
 */
export function readFlags(
  args: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
  env: Readonly<Record<string, string | undefined>>,
): Values {
  const raw = readArgs(
    args,
    Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { boolean: !spec.kind }])),
  );
  const values: Values = new Map();
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw.get(name);
    if (!spec.kind) {
      values.set(name, given ?? spec.default === true);
      continue;
    }
    const fromEnv = given === undefined && spec.env ? env[spec.env] || undefined : undefined;
    const text = (given as string | undefined) ?? fromEnv ?? (spec.default as string | undefined);
    if (text === undefined) continue;
    const result = spec.kind.check(text);
    if ("value" in result) values.set(name, result.value);
    else problems.push(`--${name}${fromEnv !== undefined ? ` (from $${spec.env})` : ""} ${result.problem}`);
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return values;
}

/** `--help`: a flag a line (what it does, its default), by group in the order given. */
export function renderHelp(
  intro: string,
  specs: Readonly<Record<string, FlagSpec>>,
  groups: readonly string[],
): string {
  const entries = Object.entries(specs);
  const usage = (name: string, spec: FlagSpec) =>
    spec.kind ? `--${name}=${spec.kind.placeholder}` : `--${name}`;
  const width = Math.max(...entries.map(([name, spec]) => usage(name, spec).length)) + 2;
  const lines = [intro];
  for (const group of groups) {
    lines.push("", `${group}:`);
    for (const [name, spec] of entries.filter(([, s]) => s.group === group))
      lines.push(`  ${usage(name, spec).padEnd(width)}${spec.help}${defaultText(name, spec)}`);
  }
  return lines.join("\n");
}

function defaultText(name: string, spec: FlagSpec): string {
  if (!spec.kind) return spec.default === true ? ` (default true; --no-${name} turns it off)` : "";
  const fallback = spec.fallback ?? (spec.default ? String(spec.default) : undefined);
  if (spec.env) return ` (default $${spec.env}${fallback ? `, else ${fallback}` : ""})`;
  return fallback ? ` (default ${fallback})` : "";
}
