/**
 * Every flag Rotor takes: its kind (the check of its value), its default, where in `--help` it
 * appears and its one line there. flags.ts reads them into Rotor's settings.
 */
import { hostname } from "node:os";
import { COMPONENTS } from "./component.ts";
import { checked, count, duration, file, oneOf, port, text, url } from "./flag-kinds.ts";
import { audienceProblem } from "./issuers/embedded/server.ts";
import type { FlagSpec } from "./runtime/args.ts";
import { LOG_FORMATS, LOG_LEVELS } from "./runtime/log.ts";

const GENERAL = "General";
const ENDPOINT = "Token endpoint (embedded issuer)";
const LEADER = "Leader election";
const RECONCILE = "Reconciling";
const ROLLOUT = "Consumers and rollouts";
const ISSUERS = "OCS issuers";
export const GROUPS = [GENERAL, LEADER, RECONCILE, ROLLOUT, ENDPOINT, ISSUERS];

const ISSUER_URL_EXAMPLE = "https://rotor.rotor-system.svc:8443";
const DNS_NAME = { pattern: /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, what: "a lowercase DNS name" };
const NAMESPACE = { pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, what: "a namespace name" };

export const FLAGS = {
  help: { group: GENERAL, help: "print this list and exit" },
  component: {
    group: GENERAL,
    kind: oneOf(COMPONENTS),
    default: "all",
    help: "what this process runs: the controller, the token server or both",
  },
  kubeconfig: {
    group: GENERAL,
    kind: file(),
    help: "kubeconfig to use",
    fallback: "in-cluster or $KUBECONFIG",
  },
  namespace: {
    group: GENERAL,
    kind: text(NAMESPACE, "NAMESPACE"),
    env: "POD_NAMESPACE",
    default: "rotor-system",
    help: "Rotor's own namespace (its Lease, registry, keys, ClusterCredentialIssuers' Secrets)",
  },
  "metrics-port": {
    group: GENERAL,
    kind: port(),
    default: "8080",
    help: "plain HTTP port of /healthz, /readyz and /metrics; 0: any free port",
  },
  "max-api-outage": {
    group: GENERAL,
    kind: duration({ min: "10s" }),
    default: "5m",
    help: "ride out a Kubernetes API outage this long (serving from caches), then exit to be restarted",
  },
  "log-level": {
    group: GENERAL,
    kind: oneOf(LOG_LEVELS, "LEVEL"),
    env: "ROTOR_LOG_LEVEL",
    default: "info",
    help: `the least severe level logged: ${LOG_LEVELS.join(", ")}`,
  },
  "log-format": {
    group: GENERAL,
    kind: oneOf(LOG_FORMATS),
    default: "json",
    help: "json: one JSON object a line; text: readable lines",
  },

  "leader-elect": {
    group: LEADER,
    default: true,
    help: "campaign for the Lease and reconcile only while leading (a token-server never does)",
  },
  "leader-election-id": {
    group: LEADER,
    kind: text(DNS_NAME, "NAME"),
    default: "rotor-leader",
    help: "the Lease's name (one per shard)",
  },
  identity: {
    group: LEADER,
    kind: checked((v) => (v ? undefined : "must not be empty"), "NAME"),
    env: "POD_NAME",
    default: hostname(),
    fallback: "the host name",
    help: "this replica's name as Lease holder and in events",
  },

  workers: {
    group: RECONCILE,
    kind: count(1, 1000),
    default: "8",
    help: "ClientCredentials reconciled at once (one namespace holds at most workers − 1)",
  },
  "watch-namespaces": {
    group: RECONCILE,
    kind: text(),
    env: "ROTOR_WATCH_NAMESPACES",
    fallback: "every namespace",
    help: "controller: comma-separated namespaces whose ClientCredentials Rotor serves",
  },
  "watch-label-selector": {
    group: RECONCILE,
    kind: text(undefined, "SELECTOR"),
    default: "",
    help: "controller: only the ClientCredentials this label selector selects (shards)",
  },
  "reconcile-timeout": {
    group: RECONCILE,
    kind: duration(),
    default: "2m",
    help: "a reconcile running longer is cancelled and retried",
  },
  "finalizer-timeout": {
    group: RECONCILE,
    kind: duration(),
    default: "10m",
    help: "how long a deletion waits for an unreachable issuer before the finalizer goes",
  },
  "verify-timeout": {
    group: RECONCILE,
    kind: duration(),
    default: "30s",
    help: "how long a new secret may take to be accepted by the token endpoint",
  },
  "shutdown-timeout": {
    group: RECONCILE,
    kind: duration({ min: "0s" }),
    default: "20s",
    help: "on SIGTERM, how long in-flight reconciles may finish",
  },

  "restart-window": {
    group: ROLLOUT,
    kind: duration({ min: "0s" }),
    default: "10s",
    help: "restart requests for one workload within this window are coalesced",
  },
  "max-restarts-per-namespace": {
    group: ROLLOUT,
    kind: count(1),
    default: "10",
    help: "workloads restarted per namespace per restart window",
  },
  "consumer-resync": {
    group: ROLLOUT,
    kind: duration(),
    default: "1h",
    help: "how often consumers are counted for status.consumers when nothing waits",
  },
  "grace-period-floor": {
    group: ROLLOUT,
    kind: duration({ min: "0s" }),
    default: "5s",
    help: "least gracePeriod where pods are waited for",
  },

  port: {
    group: ENDPOINT,
    kind: port(),
    default: "8443",
    help: "HTTPS port of the token endpoint, discovery and JWKS; 0: any free port",
  },
  "issuer-url": {
    group: ENDPOINT,
    kind: url(ISSUER_URL_EXAMPLE),
    fallback: "https://127.0.0.1:<port>",
    help: "the token endpoint's URL as workloads reach it (required with --component=controller)",
  },
  "token-server-url": {
    group: ENDPOINT,
    kind: url(ISSUER_URL_EXAMPLE),
    fallback: "--issuer-url",
    help: "controller: where it verifies new secrets",
  },
  "tls-cert-file": {
    group: ENDPOINT,
    kind: file(),
    fallback: "Rotor's own CA",
    help: "serving certificate (PEM), re-read every --tls-refresh-interval; with --tls-key-file",
  },
  "tls-key-file": { group: ENDPOINT, kind: file(), help: "its private key (PEM)" },
  "tls-ca-file": { group: ENDPOINT, kind: file(), help: "CA bundle written into target Secrets as ca.crt" },
  "tls-refresh-interval": {
    group: ENDPOINT,
    kind: duration({ max: "24h" }),
    default: "30s",
    help: "how often the TLS files or Secret are read again",
  },
  "token-endpoint-insecure-http": {
    group: ENDPOINT,
    help: "serve plain HTTP instead of TLS (only behind something that encrypts)",
  },
  "token-lifetime": {
    group: ENDPOINT,
    kind: duration({ min: "1m", max: "24h" }),
    default: "1h",
    help: "lifetime of the access tokens the endpoint issues",
  },
  audience: {
    group: ENDPOINT,
    kind: checked((v) => audienceProblem(v), "AUDIENCE"),
    default: "rotor",
    help: "the aud claim of every token",
  },
  "signing-key-rotation": {
    group: ENDPOINT,
    kind: duration({ min: "10s", max: "87600h", zero: "never" }),
    default: "720h",
    help: "how long a signing key signs before the next takes over",
  },

  "issuer-check-interval": {
    group: ISSUERS,
    kind: duration(),
    default: "5m",
    help: "how often each issuer is checked",
  },
  "issuer-request-timeout": {
    group: ISSUERS,
    kind: duration(),
    default: "10s",
    help: "timeout of one HTTP request to an issuer",
  },
  "issuer-call-timeout": {
    group: ISSUERS,
    kind: duration(),
    default: "30s",
    help: "timeout of one issuer call: attempts, backoff and waits together",
  },
  "issuer-max-concurrent-requests": {
    group: ISSUERS,
    kind: count(1),
    default: "4",
    help: "requests in flight per issuer",
  },
  "issuer-requests-per-second": {
    group: ISSUERS,
    kind: count(1),
    default: "10",
    help: "requests per second per issuer",
  },
  "allow-insecure-issuer-urls": { group: ISSUERS, help: "allow plain http to issuers not on loopback" },
  "allow-foreign-token-endpoints": {
    group: ISSUERS,
    help: "allow token endpoints on another origin than spec.ocs.url",
  },
} satisfies Record<string, FlagSpec>;
