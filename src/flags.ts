/**
 * Rotor's command-line flags (README "Flags"), declared in flag-table.ts, read into its settings.
 * Every value is checked at start: a mistake stops Rotor with one clear message and exit code 2
 * (`flagsOrExit`), never a stack trace or a stall later. `parseFlags` is pure but for looking at
 * the files the flags name, so the rules are tested as tables.
 */
import { parseComponentFlags } from "./component.ts";
import { FLAGS, GROUPS } from "./flag-table.ts";
import { readFlags, renderHelp, UsageError } from "./runtime/args.ts";
import type { LogFormat, LogLevel } from "./runtime/log.ts";

export { UsageError } from "./runtime/args.ts";

type Name = keyof typeof FLAGS;

/** Parses and checks every flag; throws a `UsageError` naming each bad one. */
export function parseFlags(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
) {
  const values = readFlags(args, FLAGS, env);
  const str = (name: Name) => values.get(name) as string;
  const optional = (name: Name) => values.get(name) as string | undefined;
  const num = (name: Name) => values.get(name) as number;
  const bool = (name: Name) => values.get(name) as boolean;

  const tls = { cert: optional("tls-cert-file"), key: optional("tls-key-file"), ca: optional("tls-ca-file") };
  if (Boolean(tls.cert) !== Boolean(tls.key))
    throw new UsageError("--tls-cert-file and --tls-key-file go together: give both or neither");
  if (bool("token-endpoint-insecure-http") && (tls.cert || tls.ca))
    throw new UsageError(
      "--token-endpoint-insecure-http serves no TLS: it excludes --tls-cert-file and --tls-ca-file",
    );
  const component = parseComponentFlags(
    Object.fromEntries(values) as Record<string, string | boolean>,
    (m) => {
      throw new UsageError(m);
    },
  );

  return {
    kubeconfig: optional("kubeconfig"),
    namespace: str("namespace"),
    port: num("port"),
    metricsPort: num("metrics-port"),
    tlsCertFile: tls.cert,
    tlsKeyFile: tls.key,
    tlsCaFile: tls.ca,
    tlsRefreshMs: num("tls-refresh-interval"),
    tokenEndpointInsecureHttp: bool("token-endpoint-insecure-http"),
    issuerUrl: optional("issuer-url"),
    logLevel: str("log-level") as LogLevel,
    logFormat: str("log-format") as LogFormat,
    workers: num("workers"),
    identity: str("identity"),
    leaderElectionId: str("leader-election-id"),
    // Checked by the API server: a selector it refuses fails the first LIST, with its words.
    watchLabelSelector: str("watch-label-selector").trim() || undefined,
    reconcileTimeoutMs: num("reconcile-timeout"),
    finalizerTimeoutMs: num("finalizer-timeout"),
    verifyTimeoutMs: num("verify-timeout"),
    shutdownTimeoutMs: num("shutdown-timeout"),
    maxApiOutageMs: num("max-api-outage"),
    tokenLifetimeSeconds: Math.round(num("token-lifetime") / 1000),
    restartWindowMs: num("restart-window"),
    consumerResyncMs: num("consumer-resync"),
    gracePeriodFloorMs: num("grace-period-floor"),
    maxRestartsPerNamespace: num("max-restarts-per-namespace"),
    issuerCheckIntervalMs: num("issuer-check-interval"),
    issuerRequestTimeoutMs: num("issuer-request-timeout"),
    issuerCallTimeoutMs: num("issuer-call-timeout"),
    allowInsecureIssuerUrls: bool("allow-insecure-issuer-urls"),
    allowForeignTokenEndpoints: bool("allow-foreign-token-endpoints"),
    issuerMaxConcurrent: num("issuer-max-concurrent-requests"),
    issuerPerSecond: num("issuer-requests-per-second"),
    audience: str("audience"),
    signingKeyRotationMs: num("signing-key-rotation"),
    ...component,
  };
}

export type Flags = ReturnType<typeof parseFlags>;

/** `--help`: every flag on one line, by group. */
export function helpText(): string {
  return `${renderHelp(
    "Rotor keeps OAuth2 client-credential secrets fresh (README.md).\n\nUsage: rotor [flags]",
    FLAGS,
    GROUPS,
  )}\n\nBooleans take --x, --x=true, --x=false or --no-x. Durations are Go durations (90s, 5m, 1h30m).`;
}

/** What main.ts runs: the flags; or `--help` on stdout, exit 0; or what is wrong on stderr, exit 2. */
export function flagsOrExit(args: readonly string[]): Flags {
  if (args.some((a) => a === "-h" || a === "--help" || a === "--help=true")) {
    console.log(helpText());
    process.exit(0);
  }
  try {
    return parseFlags(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`rotor: ${error.message.replaceAll("\n", "\nrotor: ")}\nrotor --help lists every flag.`);
    process.exit(2);
  }
}
