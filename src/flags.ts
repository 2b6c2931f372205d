/**
 * Rotor's command-line flags (README "Flags"): parsed and checked once, at start. A typo must
 * stop Rotor with a clear message (exit code 2), not make it stall later.
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { parseDuration } from "./api/duration.ts";
import { parseComponentFlags } from "./component.ts";

const FLAGS = {
  kubeconfig: { type: "string" },
  namespace: { type: "string", default: process.env.POD_NAMESPACE ?? "rotor-system" },
  port: { type: "string", default: "8443" },
  "metrics-port": { type: "string", default: "8080" },
  "tls-cert-file": { type: "string" },
  "tls-key-file": { type: "string" },
  "tls-ca-file": { type: "string" },
  "tls-refresh-interval": { type: "string", default: "30s" },
  "token-endpoint-insecure-http": { type: "boolean", default: false },
  "issuer-url": { type: "string" },
  "log-level": { type: "string", default: process.env.ROTOR_LOG_LEVEL ?? "info" },
  workers: { type: "string", default: "8" },
  identity: { type: "string", default: process.env.POD_NAME ?? hostname() },
  "leader-elect": { type: "boolean", default: true },
  "leader-election-id": { type: "string", default: "rotor-leader" },
  "watch-label-selector": { type: "string", default: "" },
  "reconcile-timeout": { type: "string", default: "2m" },
  "finalizer-timeout": { type: "string", default: "10m" },
  "verify-timeout": { type: "string", default: "30s" },
  "shutdown-timeout": { type: "string", default: "20s" },
  "token-lifetime": { type: "string", default: "1h" },
  "restart-window": { type: "string", default: "10s" },
  "consumer-resync": { type: "string", default: "1h" },
  "grace-period-floor": { type: "string", default: "5s" },
  "max-restarts-per-namespace": { type: "string", default: "10" },
  "issuer-check-interval": { type: "string", default: "5m" },
  "issuer-request-timeout": { type: "string", default: "10s" },
  "issuer-call-timeout": { type: "string", default: "30s" },
  "allow-insecure-issuer-urls": { type: "boolean", default: false },
  "allow-foreign-token-endpoints": { type: "boolean", default: false },
  "issuer-max-concurrent-requests": { type: "string", default: "4" },
  "issuer-requests-per-second": { type: "string", default: "10" },
  audience: { type: "string", default: "rotor" },
  "signing-key-rotation": { type: "string", default: "720h" },
  component: { type: "string", default: "all" },
  "token-server-url": { type: "string" },
  "watch-namespaces": { type: "string", default: process.env.ROTOR_WATCH_NAMESPACES ?? "" },
  help: { type: "boolean", default: false },
} as const;

type Name = keyof typeof FLAGS;

function usageError(message: string): never {
  console.error(
    `${message}\n\nflags: ${Object.keys(FLAGS)
      .map((f) => `--${f}`)
      .join(" ")}`,
  );
  process.exit(2);
}

export function parseFlags(args = process.argv.slice(2)) {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options: FLAGS }).values;
  } catch (error) {
    usageError((error as Error).message);
  }
  if (values.help) {
    console.log(
      `rotor: keeps OAuth2 client-credential secrets fresh (see README.md)\n\n${Object.entries(FLAGS)
        .map(([name, o]) => `  --${name}${"default" in o ? ` (default ${o.default})` : ""}`)
        .join("\n")}`,
    );
    process.exit(0);
  }
  const text = (name: Name) => values[name] as string;
  /** A whole number ≥ min. */
  const count = (name: Name, min = 1) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min)
      usageError(`--${name} must be a whole number of at least ${min}, not ${JSON.stringify(values[name])}`);
    return value;
  };
  /** A Lease name. */
  const dnsName = (name: Name) => {
    const value = text(name);
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(value))
      usageError(`--${name} must be a lowercase DNS name (a Lease's name), not ${JSON.stringify(value)}`);
    return value;
  };
  /** A Go duration (90s, 5m), in milliseconds. */
  const ms = (name: Name) => {
    try {
      return parseDuration(text(name));
    } catch (error) {
      return usageError(`--${name}: ${(error as Error).message}`);
    }
  };
  return {
    kubeconfig: values.kubeconfig as string | undefined,
    namespace: text("namespace"),
    port: count("port", 0),
    metricsPort: count("metrics-port", 0),
    tlsCertFile: values["tls-cert-file"] as string | undefined,
    tlsKeyFile: values["tls-key-file"] as string | undefined,
    tlsCaFile: values["tls-ca-file"] as string | undefined,
    tlsRefreshMs: ms("tls-refresh-interval"),
    tokenEndpointInsecureHttp: values["token-endpoint-insecure-http"] as boolean,
    issuerUrl: values["issuer-url"] as string | undefined,
    logLevel: text("log-level"),
    workers: count("workers"),
    identity: text("identity"),
    leaderElectionId: dnsName("leader-election-id"),
    // Checked by the API server: a selector it refuses fails the first LIST, with its words.
    watchLabelSelector: text("watch-label-selector").trim() || undefined,
    reconcileTimeoutMs: ms("reconcile-timeout"),
    finalizerTimeoutMs: ms("finalizer-timeout"),
    verifyTimeoutMs: ms("verify-timeout"),
    shutdownTimeoutMs: ms("shutdown-timeout"),
    tokenLifetimeSeconds: Math.round(ms("token-lifetime") / 1000),
    restartWindowMs: ms("restart-window"),
    consumerResyncMs: ms("consumer-resync"),
    gracePeriodFloorMs: ms("grace-period-floor"),
    maxRestartsPerNamespace: count("max-restarts-per-namespace"),
    issuerCheckIntervalMs: ms("issuer-check-interval"),
    issuerRequestTimeoutMs: ms("issuer-request-timeout"),
    issuerCallTimeoutMs: ms("issuer-call-timeout"),
    allowInsecureIssuerUrls: values["allow-insecure-issuer-urls"] as boolean,
    allowForeignTokenEndpoints: values["allow-foreign-token-endpoints"] as boolean,
    issuerMaxConcurrent: count("issuer-max-concurrent-requests"),
    issuerPerSecond: count("issuer-requests-per-second"),
    audience: text("audience"),
    signingKeyRotationMs: ms("signing-key-rotation"),
    ...parseComponentFlags(values, usageError),
  };
}

export type Flags = ReturnType<typeof parseFlags>;
