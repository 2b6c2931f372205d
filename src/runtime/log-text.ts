/**
 * `--log-format=text`: one readable line per entry,
 * `2026-11-27T18:00:00.000Z INFO  message key=value …`. Made from the JSON line pino wrote, after
 * its redaction, so nothing censored there comes back here. Control characters are escaped, so an
 * entry is always one line (a value cannot forge the next one).
 */

/** Fields every line has in its head, or that say nothing (Rotor's base `component`). */
const HEAD = new Set(["time", "level", "msg"]);

export function textLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith("\n") ? json : `${json}\n`;
  }
  const head = [
    String(entry.time ?? ""),
    String(entry.level ?? "")
      .toUpperCase()
      .padEnd(5),
    ...(entry.msg === undefined ? [] : [oneLine(String(entry.msg))]),
  ];
  const fields = Object.entries(entry)
    .filter(([key, value]) => !HEAD.has(key) && !(key === "component" && value === "rotor"))
    .map(([key, value]) => `${oneLine(key)}=${formatValue(value)}`);
  return `${[...head, ...fields].join(" ")}\n`;
}

/** Bare when that cannot be misread, else quoted as JSON (objects and arrays as JSON). */
function formatValue(value: unknown): string {
  if (typeof value === "string" && /^[^\s"=\\\p{C}]+$/u.test(value)) return value;
  return oneLine(JSON.stringify(value) ?? "null");
}

const INVISIBLE = /[\p{C}\u2028\u2029]/gu;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Newlines, tabs and other invisible characters as escapes: one entry, one line. */
function oneLine(text: string): string {
  return text.replace(INVISIBLE, (c) => NAMED[c] ?? `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}
