import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FLAGS } from "../../src/flag-table.ts";
import { helpText, parseFlags, UsageError } from "../../src/flags.ts";

const dir = mkdtempSync(join(tmpdir(), "rotor-flags-"));
const pem = join(dir, "tls.crt");
const key = join(dir, "tls.key");
writeFileSync(pem, "-----BEGIN CERTIFICATE-----\n");
writeFileSync(key, "-----BEGIN PRIVATE KEY-----\n");

/** No environment unless a row gives one: the rows do not depend on the machine's. */
const parse = (args: string[], env: Record<string, string> = {}) => parseFlags(args, env);

/** The message of the UsageError `args` gets (and fails if they get none, or another error). */
function refusal(args: string[], env: Record<string, string> = {}): string {
  try {
    parse(args, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${args.join(" ")} was accepted`);
}

describe("booleans", () => {
  it.each([
    [[], true],
    [["--leader-elect"], true],
    [["--leader-elect=true"], true],
    [["--leader-elect=TRUE"], true],
    [["--leader-elect=false"], false],
    [["--no-leader-elect"], false],
    [["--no-leader-elect", "--leader-elect"], true],
    [["--leader-elect=false", "--leader-elect=true"], true],
  ])("%j: leader election %s", (args, elect) => {
    expect(parse(args).leaderElect).toBe(elect);
  });

  it.each([
    [["--allow-insecure-issuer-urls"], true],
    [["--allow-insecure-issuer-urls=false"], false],
    [["--no-allow-insecure-issuer-urls"], false],
    [[], false],
  ])("every boolean, not only --leader-elect: %j is %s", (args, allowed) => {
    expect(parse(args).allowInsecureIssuerUrls).toBe(allowed);
  });

  it.each([
    [["--leader-elect=no"], '--leader-elect takes true or false, not "no"'],
    [["--no-leader-elect=true"], "--no-leader-elect takes no value"],
    [
      ["--leader-elect", "false"],
      'unexpected argument "false": Rotor takes flags only (write --leader-elect=false)',
    ],
    [["--no-port"], "only boolean flags have a --no- form"],
  ])("refuses %j", (args, message) => {
    expect(refusal(args)).toContain(message);
  });
});

describe("values", () => {
  it("takes the defaults, and a value as --x=v or --x v", () => {
    const flags = parse([]);
    expect(flags).toMatchObject({ port: 8443, metricsPort: 8080, logLevel: "info", logFormat: "json" });
    expect(flags).toMatchObject({ workers: 8, reconcileTimeoutMs: 120_000, tokenLifetimeSeconds: 3600 });
    expect(flags).toMatchObject({ namespace: "rotor-system", signingKeyRotationMs: 720 * 3_600_000 });
    expect(parse(["--port", "9443", "--log-format=text"])).toMatchObject({ port: 9443, logFormat: "text" });
  });

  it("takes defaults from the environment the Deployment sets", () => {
    const env = { POD_NAMESPACE: "ops", ROTOR_LOG_LEVEL: "debug", POD_NAME: "rotor-0" };
    expect(parse([], env)).toMatchObject({ namespace: "ops", logLevel: "debug", identity: "rotor-0" });
    expect(parse(["--log-level=warn"], env).logLevel).toBe("warn");
  });

  it.each([
    ["--signing-key-rotation=0s", { signingKeyRotationMs: 0 }],
    ["--shutdown-timeout=0s", { shutdownTimeoutMs: 0 }],
    ["--port=0", { port: 0 }],
    ["--metrics-port=65535", { metricsPort: 65535 }],
    ["--issuer-url=http://rotor.rotor-system.svc:8443", { issuerUrl: "http://rotor.rotor-system.svc:8443" }],
    [`--tls-ca-file=${pem}`, { tlsCaFile: pem }],
    ["--log-level=silent", { logLevel: "silent" }],
  ])("accepts %s", (arg, expected) => {
    expect(parse([arg])).toMatchObject(expected);
  });

  it.each([
    ["--log-level=verbose", "--log-level must be one of fatal, error, warn, info, debug, trace, silent, not"],
    ["--log-format=yaml", '--log-format must be one of json, text, not "yaml"'],
    ["--port=99999", '--port must be a whole number from 0 to 65535, not "99999"'],
    ["--metrics-port=-1", '--metrics-port must be a whole number from 0 to 65535, not "-1"'],
    ["--metrics-port", "--metrics-port needs a value (--metrics-port=VALUE)"],
    ["--metrics-port=80a", "--metrics-port must be a whole number from 0 to 65535"],
    ["--workers=0", '--workers must be a whole number from 1 to 1000, not "0"'],
    ["--workers=1e3", "--workers must be a whole number"],
    ["--workers=8.5", "--workers must be a whole number"],
    ["--issuer-requests-per-second=", "--issuer-requests-per-second must be a whole number"],
    ["--reconcile-timeout=5 minutes", "--reconcile-timeout must be a Go duration such as 90s, 5m or 1h30m"],
    ["--reconcile-timeout=0s", '--reconcile-timeout must be from 1s to 596h, not "0s"'],
    ["--consumer-resync=1000h", "--consumer-resync must be from 1s to 596h"],
    ["--verify-timeout=10", "--verify-timeout must be a Go duration"],
    ["--token-lifetime=10s", "--token-lifetime must be from 1m to 24h"],
    ["--signing-key-rotation=5s", "--signing-key-rotation must be from 10s to 87600h, or 0s (never)"],
    ["--issuer-url=rotor.rotor-system.svc", "--issuer-url must be an absolute http(s) URL"],
    ["--issuer-url=ftp://rotor", "--issuer-url must be an absolute http(s) URL"],
    ["--issuer-url=/oauth2/token", "--issuer-url must be an absolute http(s) URL"],
    ["--component=webhook", "--component must be one of all, controller, token-server"],
    ["--namespace=Rotor_System", '--namespace must be a namespace name, not "Rotor_System"'],
    ["--leader-election-id=Rotor", "--leader-election-id must be a lowercase DNS name"],
    ["--identity=", "--identity must not be empty"],
    ["--audience=two words", "--audience must be printable ASCII without spaces"],
    [`--tls-cert-file=${join(dir, "missing.crt")}`, "--tls-cert-file must name a file: there is none at"],
    [`--tls-ca-file=${dir}`, `--tls-ca-file must name a file: ${JSON.stringify(dir)} is not one`],
    ["--kubeconfig=/no/such/kubeconfig", "--kubeconfig must name a file"],
  ])("refuses %s", (arg, message) => {
    expect(refusal([arg])).toContain(message);
  });

  it("says where a bad default came from", () => {
    expect(refusal([], { ROTOR_LOG_LEVEL: "verbose" })).toBe(
      '--log-level (from $ROTOR_LOG_LEVEL) must be one of fatal, error, warn, info, debug, trace, silent, not "verbose"',
    );
  });

  it("names every bad value at once", () => {
    expect(refusal(["--port=x", "--log-level=loud"]).split("\n")).toEqual([
      '--log-level must be one of fatal, error, warn, info, debug, trace, silent, not "loud"',
      '--port must be a whole number from 0 to 65535, not "x"',
    ]);
  });

  it("refuses a TLS file this process may not read", () => {
    const secret = join(dir, "unreadable.key");
    writeFileSync(secret, "x");
    chmodSync(secret, 0o000);
    // root reads anything: the row means something only for other users.
    if (process.getuid?.() === 0) expect(parse([`--tls-ca-file=${secret}`]).tlsCaFile).toBe(secret);
    else expect(refusal([`--tls-ca-file=${secret}`])).toContain("which this process may not read");
  });
});

describe("flags that go together", () => {
  it.each([
    [[`--tls-cert-file=${pem}`], "--tls-cert-file and --tls-key-file go together"],
    [[`--tls-key-file=${key}`], "--tls-cert-file and --tls-key-file go together"],
    [
      [`--tls-cert-file=${pem}`, `--tls-key-file=${key}`, "--token-endpoint-insecure-http"],
      "--token-endpoint-insecure-http serves no TLS",
    ],
    [["--component=controller"], "--component=controller needs --issuer-url"],
    [["--token-server-url=http://rotor:8443"], "--token-server-url is for --component=controller only"],
    [
      ["--component=controller", "--issuer-url=https://rotor", "--token-server-url=rotor:8443"],
      "--token-server-url must be an absolute http(s) URL",
    ],
  ])("refuses %j", (args, message) => {
    expect(refusal(args)).toContain(message);
  });

  it("accepts a certificate with its key", () => {
    expect(parse([`--tls-cert-file=${pem}`, `--tls-key-file=${key}`])).toMatchObject({
      tlsCertFile: pem,
      tlsKeyFile: key,
    });
  });
});

describe("unknown flags", () => {
  it.each([
    ["--loglevel=debug", "unknown flag --loglevel (did you mean --log-level?)"],
    ["--log_format=text", "unknown flag --log_format (did you mean --log-format?)"],
    ["--wrokers=2", "unknown flag --wrokers (did you mean --workers?)"],
    ["--no-leader-election", "unknown flag --no-leader-election (did you mean --no-leader-elect?)"],
    ["--metrics", "unknown flag --metrics (did you mean --metrics-port?)"],
    ["--enable-webhooks", "unknown flag --enable-webhooks"],
    ["-v", 'unexpected argument "-v": Rotor takes flags only'],
    ["controller", 'unexpected argument "controller": Rotor takes flags only'],
  ])("refuses %s", (arg, message) => {
    expect(refusal([arg])).toBe(message);
  });
});

describe("--help", () => {
  const help = helpText();
  const lines = help.split("\n");

  it("describes every flag on one line of its own", () => {
    for (const [name, spec] of Object.entries(FLAGS)) {
      const line = lines.filter(
        (l) => l.trimStart().startsWith(`--${name}=`) || l.trim().startsWith(`--${name} `),
      );
      expect(line, name).toHaveLength(1);
      expect(line[0], name).toContain(spec.help);
    }
  });

  it("gives each default, and how to turn a boolean off", () => {
    const line = (name: string) => lines.find((l) => l.trimStart().startsWith(`--${name}`)) as string;
    expect(line("reconcile-timeout")).toContain("(default 2m)");
    expect(line("log-level")).toContain("(default $ROTOR_LOG_LEVEL, else info)");
    expect(line("leader-elect ")).toContain("--no-leader-elect");
    expect(line("log-format")).toMatch(/json\|text.*\(default json\)/);
  });

  it("groups the flags", () => {
    expect(help).toMatch(/General:\n(\s+--.*\n)+\nLeader election:\n/);
  });
});
