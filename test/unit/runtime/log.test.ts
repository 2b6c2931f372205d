import { describe, expect, it } from "vitest";
import { createLogger, describeError, type LogFormat } from "../../../src/runtime/log.ts";
import { textLine } from "../../../src/runtime/log-text.ts";

/** A logger whose lines are kept. */
function capture(format: LogFormat, level = "debug") {
  const lines: string[] = [];
  const log = createLogger(level, format, { write: (line) => void lines.push(line) });
  return { log, lines };
}

const VALUE = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ";

describe("JSON logs", () => {
  it("name the level", () => {
    const { log, lines } = capture("json");
    log.info({ clientId: "3f2c8e1a-6b7d-4c1e-9a55-0d4b2f6e8a91" }, "minted");
    log.warn("slow");
    const [info, warn] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(info).toMatchObject({ level: "info", component: "rotor", msg: "minted" });
    expect(warn).toMatchObject({ level: "warn", msg: "slow" });
    expect(lines[0]).toContain('"level":"info"');
  });

  it("obey the level", () => {
    const { log, lines } = capture("json", "warn");
    log.info("not shown");
    log.error("shown");
    expect(lines).toHaveLength(1);
  });
});

describe("text logs", () => {
  it("are one readable line: time, level, message, key=value", () => {
    const { log, lines } = capture("text");
    log.info({ namespace: "team-a", name: "orders-api", attempt: 2, ok: true }, "secret minted");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}secret minted namespace=team-a name=orders-api attempt=2 ok=true\n$/,
    );
  });

  it.each([
    [{ level: "warn", time: "t", msg: "m", reason: "two words" }, 't WARN  m reason="two words"\n'],
    [{ level: "error", time: "t", msg: "m", object: { a: 1 } }, 't ERROR m object={"a":1}\n'],
    [{ level: "info", time: "t", msg: "a\nforged line", x: "b\nc" }, 't INFO  a\\nforged line x="b\\nc"\n'],
    [{ level: "info", time: "t", msg: "m", empty: "", eq: "a=b" }, 't INFO  m empty="" eq="a=b"\n'],
    [
      { level: "debug", time: "t", msg: "m", component: "rotor", informer: "x/y" },
      "t DEBUG m informer=x/y\n",
    ],
  ])("%j → %j", (entry, line) => {
    expect(textLine(JSON.stringify(entry))).toBe(line);
  });

  it("pass a line that is not JSON through as it is", () => {
    expect(textLine("not json")).toBe("not json\n");
  });

  it("keep the redaction of secret-looking fields, at any depth, and of headers", () => {
    const { log, lines } = capture("text");
    log.info(
      {
        clientSecret: VALUE,
        secret: VALUE,
        token: VALUE,
        request: { authorization: `Bearer ${VALUE}`, headers: { cookie: VALUE } },
        headers: { "x-api-key": VALUE },
      },
      "calling the issuer",
    );
    expect(lines.join("")).not.toContain(VALUE);
    expect(lines[0]).toContain("clientSecret=[redacted]");
    expect(lines[0]).toContain("secret=[redacted]");
    expect(lines[0]).toContain('"authorization":"[redacted]"');
  });

  it("keep the scrub of errors that quote a credential", () => {
    const { log, lines } = capture("text");
    log.error({ error: describeError(new Error(`the issuer refused ${VALUE}`)) }, "mint failed");
    expect(lines[0]).not.toContain(VALUE);
    expect(lines[0]).toContain('error="the issuer refused [redacted]"');
  });
});
