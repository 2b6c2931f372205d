/**
 * Rotor: flags and construction only; the manager (runtime/manager.ts) runs it. Every process
 * serves the health and metrics endpoints; which of the token endpoint and the controllers it
 * runs is its --component (component.ts); only the elected leader reconciles (controllers/setup.ts).
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { rolesOf, verifyBaseUrl } from "./component.ts";
import { CredentialMetrics } from "./controllers/clientcredential/metrics.ts";
import { setUpControllers } from "./controllers/setup.ts";
import { flagsOrExit } from "./flags.ts";
import { EmbeddedIssuer } from "./issuers/embedded/issuer.ts";
import { ClientRegistry } from "./issuers/embedded/registry.ts";
import { mountTokenEndpoint } from "./issuers/embedded/server.ts";
import { loadSigningKey } from "./issuers/embedded/signing.ts";
import { endpointCertificate } from "./issuers/embedded/tls.ts";
import { EventRecorder } from "./runtime/events.ts";
import { HttpServer } from "./runtime/http.ts";
import { instrumentApiRequests, loadKubeConfig } from "./runtime/kube.ts";
import { LeaderElector } from "./runtime/leader.ts";
import { kubernetesLease } from "./runtime/lease-store.ts";
import { createLogger, describeError } from "./runtime/log.ts";
import { Manager } from "./runtime/manager.ts";
import { installProcessHandlers } from "./runtime/process.ts";
import { whenApiAnswers } from "./runtime/startup.ts";

const flags = flagsOrExit(process.argv.slice(2));
const log = createLogger(flags.logLevel, flags.logFormat);
installProcessHandlers(log);

async function main() {
  const kc = loadKubeConfig(flags.kubeconfig);
  const { namespace, identity } = flags;
  const roles = rolesOf(flags.component);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  instrumentApiRequests(registry, log);

  const elector = flags.leaderElect
    ? new LeaderElector({ store: kubernetesLease(kc, namespace, flags.leaderElectionId), identity, log })
    : undefined;
  const manager = new Manager({
    log,
    registry,
    elector,
    reconcileTimeoutMs: flags.reconcileTimeoutMs,
    shutdownTimeoutMs: flags.shutdownTimeoutMs,
    maxApiOutageMs: flags.maxApiOutageMs,
  });
  const probes = new HttpServer({ port: flags.metricsPort, registry, ready: () => manager.ready, log });
  const metricsPort = await probes.listen();
  const waitingForApi = { deadlineMs: flags.maxApiOutageMs, log };
  const tls = await whenApiAnswers(
    "the token endpoint's certificate",
    () =>
      endpointCertificate(kc, namespace, {
        insecureHttp: flags.tokenEndpointInsecureHttp,
        certFile: flags.tlsCertFile,
        keyFile: flags.tlsKeyFile,
        caFile: flags.tlsCaFile,
        issuerUrl: flags.issuerUrl,
        identity,
        refreshMs: flags.tlsRefreshMs,
        readOnly: !roles.writesKeys,
        log,
      }),
    waitingForApi,
  );
  const http = new HttpServer({ port: flags.port, tls, log });
  const port = await http.listen();
  const localUrl = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const issuerUrl = flags.issuerUrl ?? localUrl;

  const clientRegistry = new ClientRegistry(kc, namespace, log, manager.supervision);
  manager.cache(clientRegistry);
  const key = await whenApiAnswers(
    "the signing keys",
    () =>
      loadSigningKey(kc, namespace, {
        log,
        identity,
        rotateAfterMs: flags.signingKeyRotationMs,
        tokenLifetimeMs: flags.tokenLifetimeSeconds * 1000,
        readOnly: !roles.writesKeys,
      }),
    waitingForApi,
  );
  const { audience, tokenLifetimeSeconds } = flags;
  if (roles.servesTokens)
    mountTokenEndpoint(http, {
      issuerUrl,
      audience,
      tokenLifetimeSeconds,
      registry: clientRegistry,
      key,
      log,
      metrics: registry,
    });
  if (roles.reconciles)
    setUpControllers(manager, {
      kc,
      flags,
      log,
      registry,
      events: new EventRecorder(kc, "rotor.dev/rotor", identity, log),
      metrics: new CredentialMetrics(registry),
      embedded: new EmbeddedIssuer({
        registry: clientRegistry,
        publicUrl: issuerUrl,
        localUrl: verifyBaseUrl(flags, localUrl),
        tls,
      }),
      onCaBundleChange: tls ? (listener) => tls.onChange(listener) : undefined,
    });

  await manager.start();
  const { component } = flags;
  log.info({ port, metricsPort, localUrl, issuerUrl, namespace, component }, "Rotor is serving");

  const shutdown = async (signal: string) => {
    await manager.shutdown(signal);
    await Promise.all([http.close(), probes.close()]);
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
