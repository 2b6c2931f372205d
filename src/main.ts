/**
 * Rotor: flags and construction only; the manager (runtime/manager.ts) runs it. Every replica
 * serves the embedded issuer's token endpoint and the health and metrics endpoints; only the
 * elected leader reconciles (controllers/setup.ts).
 */
import { Counter, collectDefaultMetrics, Registry } from "prom-client";
import { CredentialMetrics } from "./controllers/clientcredential/metrics.ts";
import { setUpControllers } from "./controllers/setup.ts";
import { parseFlags } from "./flags.ts";
import { EmbeddedIssuer } from "./issuers/embedded/issuer.ts";
import { ClientRegistry } from "./issuers/embedded/registry.ts";
import { mountTokenEndpoint } from "./issuers/embedded/server.ts";
import { loadSigningKey } from "./issuers/embedded/signing.ts";
import { endpointCertificate } from "./issuers/embedded/tls.ts";
import { OcsTenants } from "./issuers/ocs/tenants.ts";
import { EventRecorder } from "./runtime/events.ts";
import { HttpServer } from "./runtime/http.ts";
import { instrumentApiRequests, loadKubeConfig } from "./runtime/kube.ts";
import { kubernetesLease, LeaderElector } from "./runtime/leader.ts";
import { createLogger, describeError } from "./runtime/log.ts";
import { Manager } from "./runtime/manager.ts";
import { installProcessHandlers } from "./runtime/process.ts";

const flags = parseFlags();
const log = createLogger(flags.logLevel);
installProcessHandlers(log);

async function main() {
  const kc = loadKubeConfig(flags.kubeconfig);
  const { namespace } = flags;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  instrumentApiRequests(registry, log);
  const ocsRequests = new Counter({
    name: "rotor_issuer_requests_total",
    help: "HTTP requests Rotor made to OCS issuers (every attempt), by issuer, method and outcome.",
    labelNames: ["issuer", "method", "outcome"],
    registers: [registry],
  });
  const tokenRequests = new Counter({
    name: "rotor_issuer_token_requests_total",
    help: "Requests to the embedded token endpoint, by outcome.",
    labelNames: ["outcome"],
    registers: [registry],
  });

  const elector = flags.leaderElect
    ? new LeaderElector({
        store: kubernetesLease(kc, namespace, "rotor-leader"),
        identity: flags.identity,
        log,
      })
    : undefined;
  const manager = new Manager({
    log,
    registry,
    elector,
    reconcileTimeoutMs: flags.reconcileTimeoutMs,
    shutdownTimeoutMs: flags.shutdownTimeoutMs,
  });
  const probes = new HttpServer({ port: flags.metricsPort, registry, ready: () => manager.ready, log });
  const metricsPort = await probes.listen();
  const tls = await endpointCertificate(kc, namespace, {
    insecureHttp: flags.tokenEndpointInsecureHttp,
    certFile: flags.tlsCertFile,
    keyFile: flags.tlsKeyFile,
    caFile: flags.tlsCaFile,
    issuerUrl: flags.issuerUrl,
    identity: flags.identity,
    refreshMs: flags.tlsRefreshMs,
    log,
  });
  const http = new HttpServer({ port: flags.port, tls, log });
  const port = await http.listen();
  const localUrl = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const issuerUrl = flags.issuerUrl ?? localUrl;

  const clientRegistry = new ClientRegistry(kc, namespace, log, manager.fatal);
  manager.cache(clientRegistry);
  mountTokenEndpoint(http, {
    issuerUrl,
    audience: flags.audience,
    tokenLifetimeSeconds: flags.tokenLifetimeSeconds,
    registry: clientRegistry,
    key: await loadSigningKey(kc, namespace, {
      log,
      identity: flags.identity,
      rotateAfterMs: flags.signingKeyRotationMs,
      tokenLifetimeMs: flags.tokenLifetimeSeconds * 1000,
    }),
    log,
    onToken: (outcome) => tokenRequests.inc({ outcome }),
  });
  setUpControllers(manager, {
    kc,
    flags,
    log,
    events: new EventRecorder(kc, "rotor.dev/rotor", flags.identity, log),
    metrics: new CredentialMetrics(registry),
    embedded: new EmbeddedIssuer({ registry: clientRegistry, publicUrl: issuerUrl, localUrl, tls }),
    onCaBundleChange: tls ? (listener) => tls.onChange(listener) : undefined,
    tenants: new OcsTenants(kc, {
      http: {
        timeoutMs: flags.issuerRequestTimeoutMs,
        callTimeoutMs: flags.issuerCallTimeoutMs,
        maxAttempts: 5,
        backoff: { baseMs: 250, maxMs: 8000 },
        maxRetryAfterMs: 30_000,
      },
      throttle: { maxConcurrent: flags.issuerMaxConcurrent, perSecond: flags.issuerPerSecond },
      urls: {
        allowInsecure: flags.allowInsecureIssuerUrls,
        allowForeignTokenEndpoint: flags.allowForeignTokenEndpoints,
      },
      onAttempt: (issuer, method, outcome) => ocsRequests.inc({ issuer, method, outcome }),
    }),
  });

  await manager.start();
  log.info({ port, metricsPort, localUrl, issuerUrl, namespace }, "Rotor is serving");

  const shutdown = async (signal: string) => {
    await manager.shutdown(signal);
    await http.close();
    await probes.close();
    tls?.stop();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  log.fatal({ error: describeError(error) }, "Rotor could not start");
  process.exit(1);
});
