/**
 * Rotor: flags and wiring only. Every replica serves the embedded issuer's token endpoint and
 * the health and metrics endpoints; only the elected leader reconciles.
 */
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { CoreV1Api, CustomObjectsApi, type V1Secret } from "@kubernetes/client-node";
import { Counter, collectDefaultMetrics, Registry } from "prom-client";
import { parseDuration } from "./api/duration.ts";
import { GROUP, VERSION } from "./api/group.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "./api/metadata.ts";
import { KubeWriter } from "./controllers/clientcredential/apply/index.ts";
import { ClientIdHolders } from "./controllers/clientcredential/holders.ts";
import { IssuerResolver } from "./controllers/clientcredential/issuer-access.ts";
import { CredentialMetrics } from "./controllers/clientcredential/metrics.ts";
import { Observer } from "./controllers/clientcredential/observe.ts";
import { ClientCredentialReconciler } from "./controllers/clientcredential/reconciler.ts";
import type { ClientCredentialObject } from "./controllers/clientcredential/resources.ts";
import { type IssuerRef, issuerKey } from "./controllers/issuer/keys.ts";
import { IssuerReconciler } from "./controllers/issuer/reconciler.ts";
import { Restarter } from "./controllers/rollout/restarter.ts";
import { EmbeddedIssuer } from "./issuers/embedded/issuer.ts";
import { ClientRegistry } from "./issuers/embedded/registry.ts";
import { mountTokenEndpoint } from "./issuers/embedded/server.ts";
import { loadSigningKey } from "./issuers/embedded/signing.ts";
import { OcsTenants } from "./issuers/ocs/tenants.ts";
import { Controller } from "./runtime/controller.ts";
import { EventRecorder } from "./runtime/events.ts";
import { HttpServer } from "./runtime/http.ts";
import { SupervisedInformer } from "./runtime/informer.ts";
import { loadKubeConfig, makeClient, onApiRequest } from "./runtime/kube.ts";
import { LeaderElector } from "./runtime/leader.ts";
import { createLogger, describeError } from "./runtime/log.ts";
import { installProcessHandlers } from "./runtime/process.ts";
import { WorkQueue } from "./runtime/queue.ts";

const FLAGS = {
  kubeconfig: { type: "string" },
  namespace: { type: "string", default: process.env.POD_NAMESPACE ?? "rotor-system" },
  port: { type: "string", default: "8080" },
  "issuer-url": { type: "string" },
  "log-level": { type: "string", default: process.env.ROTOR_LOG_LEVEL ?? "info" },
  workers: { type: "string", default: "4" },
  identity: { type: "string", default: process.env.POD_NAME ?? hostname() },
  "leader-elect": { type: "boolean", default: true },
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
  help: { type: "boolean", default: false },
} as const;

const { values: flags } = (() => {
  try {
    return parseArgs({ options: FLAGS });
  } catch (error) {
    console.error(
      `${(error as Error).message}\n\nflags: ${Object.keys(FLAGS)
        .map((f) => `--${f}`)
        .join(" ")}`,
    );
    process.exit(2);
  }
})();
if (flags.help) {
  console.log(
    `rotor: keeps OAuth2 client-credential secrets fresh (see README.md)\n\n${Object.entries(FLAGS)
      .map(([name, o]) => `  --${name}${"default" in o ? ` (default ${o.default})` : ""}`)
      .join("\n")}`,
  );
  process.exit(0);
}

/** A flag that must be a whole number ≥ min: a typo must stop Rotor, not make it stall. */
function count(name: keyof typeof FLAGS, min = 1): number {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be a whole number of at least ${min}, not ${JSON.stringify(flags[name])}`);
    process.exit(2);
  }
  return value;
}

const numbers = {
  port: count("port", 0),
  workers: count("workers"),
  maxRestartsPerNamespace: count("max-restarts-per-namespace"),
  issuerMaxConcurrent: count("issuer-max-concurrent-requests"),
  issuerPerSecond: count("issuer-requests-per-second"),
};
const log = createLogger(flags["log-level"]);
installProcessHandlers(log);

async function main() {
  const kc = loadKubeConfig(flags.kubeconfig);
  const namespace = flags.namespace as string;
  const port = numbers.port;
  const now = () => new Date();
  const fatal = (reason: string) => {
    log.fatal({ reason }, "exiting so that Kubernetes restarts Rotor");
    process.exit(1);
  };

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = new CredentialMetrics(registry);
  const apiRequests = new Counter({
    name: "rotor_kube_api_requests_total",
    help: "Requests Rotor made to the Kubernetes API (watches excluded), by method.",
    labelNames: ["method"],
    registers: [registry],
  });
  onApiRequest((method) => apiRequests.inc({ method }));
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

  // --- caches ------------------------------------------------------------------------------
  const clientRegistry = new ClientRegistry(kc, namespace, log, fatal);
  const custom = makeClient(kc, CustomObjectsApi);
  const core = makeClient(kc, CoreV1Api);
  const credentials = new SupervisedInformer<ClientCredentialObject>({
    name: "clientcredentials",
    kc,
    path: `/apis/${GROUP}/${VERSION}/clientcredentials`,
    list: () =>
      custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: "clientcredentials",
      }) as never,
    log,
    onFatal: fatal,
  });
  // Only the Secrets Rotor wrote (label-selected): never a cache of every Secret in the cluster.
  const ownSecrets = new SupervisedInformer<V1Secret>({
    name: "rotor-secrets",
    kc,
    path: "/api/v1/secrets",
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
    list: () => core.listSecretForAllNamespaces({ labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` }),
    log,
    onFatal: fatal,
  });

  let ready = false;
  const http = new HttpServer({
    port,
    registry,
    // `ready` turns true only once every informer below exists and has synced.
    ready: () => ready && informers.every((i) => i.healthy) && clientRegistry.healthy,
    log,
  });
  const boundPort = await http.listen();
  const localUrl = `http://127.0.0.1:${boundPort}`;
  const issuerUrl = flags["issuer-url"] ?? localUrl;

  await clientRegistry.start();
  await clientRegistry.waitForSync(60_000);
  const key = await loadSigningKey(kc, namespace, {
    log,
    identity: flags.identity as string,
    rotateAfterMs: parseDuration(flags["signing-key-rotation"] as string),
    tokenLifetimeMs: parseDuration(flags["token-lifetime"] as string),
  });
  mountTokenEndpoint(http, {
    issuerUrl,
    audience: flags.audience as string,
    tokenLifetimeSeconds: Math.round(parseDuration(flags["token-lifetime"] as string) / 1000),
    registry: clientRegistry,
    key,
    log,
    onToken: (outcome) => tokenRequests.inc({ outcome }),
  });
  const embedded = new EmbeddedIssuer({ registry: clientRegistry, publicUrl: issuerUrl, localUrl });

  const tenants = new OcsTenants(kc, {
    http: {
      timeoutMs: parseDuration(flags["issuer-request-timeout"] as string),
      callTimeoutMs: parseDuration(flags["issuer-call-timeout"] as string),
      maxAttempts: 5,
      backoff: { baseMs: 250, maxMs: 8000 },
      maxRetryAfterMs: 30_000,
    },
    throttle: {
      maxConcurrent: numbers.issuerMaxConcurrent,
      perSecond: numbers.issuerPerSecond,
    },
    urls: {
      allowInsecure: flags["allow-insecure-issuer-urls"] as boolean,
      allowForeignTokenEndpoint: flags["allow-foreign-token-endpoints"] as boolean,
    },
    onAttempt: (issuer, method, outcome) => ocsRequests.inc({ issuer, method, outcome }),
  });

  // --- the controllers ---------------------------------------------------------------------
  const queue = new WorkQueue({ baseMs: 1000, maxMs: 5 * 60_000 });
  const holders = new ClientIdHolders();
  const events = new EventRecorder(kc, "rotor.dev/rotor", flags.identity as string, log);
  const reconciler = new ClientCredentialReconciler(
    {
      observer: new Observer(kc, new IssuerResolver(kc, embedded, tenants, namespace), (clientId, self) =>
        holders.holderOther(clientId, self),
      ),
      writer: new KubeWriter(kc),
      restarts: new Restarter(kc, log, {
        windowMs: parseDuration(flags["restart-window"] as string),
        maxPerNamespace: numbers.maxRestartsPerNamespace,
      }),
      events,
      metrics,
      log,
      clock: now,
    },
    {
      consumerResyncMs: parseDuration(flags["consumer-resync"] as string),
      finalizerTimeoutMs: parseDuration(flags["finalizer-timeout"] as string),
      gracePeriodFloorMs: parseDuration(flags["grace-period-floor"] as string),
      verifyTimeoutMs: parseDuration(flags["verify-timeout"] as string),
      failureBackoff: { baseMs: 5000, maxMs: 5 * 60_000 },
    },
  );
  const controller = new Controller({
    name: "clientcredential",
    workers: numbers.workers,
    queue,
    reconciler,
    log,
    onReconciled: (seconds, result) => metrics.reconcileDuration.observe({ result }, seconds),
  });

  // Issuers: checked on every change and every --issuer-check-interval; a change of readiness
  // wakes the ClientCredentials that use the issuer.
  const issuerQueue = new WorkQueue({ baseMs: 1000, maxMs: 5 * 60_000 });
  const usesIssuer = (cc: ClientCredentialObject, ref: IssuerRef) => {
    const used = (cc.spec as { issuerRef?: { kind?: string; name?: string } } | undefined)?.issuerRef;
    return (
      used?.kind === ref.kind &&
      used.name === ref.name &&
      (ref.namespace === undefined || cc.metadata?.namespace === ref.namespace)
    );
  };
  const issuerController = new Controller({
    name: "issuer",
    workers: 2,
    queue: issuerQueue,
    reconciler: new IssuerReconciler(kc, tenants, events, log, {
      operatorNamespace: namespace,
      embeddedTokenUrl: embedded.tokenUrl,
      recheckMs: parseDuration(flags["issuer-check-interval"] as string),
      retryMs: 5000,
      now,
      onChanged: (ref) => {
        for (const cc of credentials.list()) if (usesIssuer(cc, ref)) queue.add(keyOf(cc));
      },
    }),
    log,
  });
  const issuerInformers = (["CredentialIssuer", "ClusterCredentialIssuer"] as const).map((kind) => {
    const plural = kind === "CredentialIssuer" ? "credentialissuers" : "clustercredentialissuers";
    const informer = new SupervisedInformer<{
      metadata?: { namespace?: string; name?: string; generation?: number };
    }>({
      name: plural,
      kc,
      path: `/apis/${GROUP}/${VERSION}/${plural}`,
      list: () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as never,
      log,
      onFatal: fatal,
    });
    const keyOfIssuer = (o: { metadata?: { namespace?: string; name?: string } }) =>
      issuerKey({ kind, namespace: o.metadata?.namespace, name: o.metadata?.name as string });
    // Only a new spec (or a new or deleted issuer) needs a check now: Rotor's own status writes
    // would otherwise trigger the next check, and that one the next.
    const seenGeneration = new Map<string, number | undefined>();
    informer.onEvent((object, event) => {
      const key = keyOfIssuer(object);
      const generation = object.metadata?.generation;
      const known = seenGeneration.has(key) && seenGeneration.get(key) === generation;
      if (event === "delete") seenGeneration.delete(key);
      else seenGeneration.set(key, generation);
      if (leading && (event !== "update" || !known)) issuerQueue.add(key);
    });
    return { informer, keys: () => informer.list().map(keyOfIssuer) };
  });

  const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
    `${o.metadata?.namespace}/${o.metadata?.name}`;
  let leading = false;
  credentials.onEvent((object, event) => {
    const others = holders.update(object, event === "delete");
    if (leading) for (const key of [keyOf(object), ...others]) queue.add(key);
  });
  ownSecrets.onEvent((secret) => {
    const owner = secret.metadata?.ownerReferences?.find(
      (ref) => ref.controller && ref.kind === "ClientCredential",
    );
    if (leading && owner) queue.add(`${secret.metadata?.namespace}/${owner.name}`);
  });
  const informers = [credentials, ownSecrets, ...issuerInformers.map((i) => i.informer)];
  await Promise.all(informers.map((i) => i.start()));
  await Promise.all(informers.map((i) => i.waitForSync(60_000)));
  ready = true;
  log.info({ port: boundPort, issuerUrl, namespace }, "Rotor is serving");

  const startLeading = () => {
    leading = true;
    issuerController.start();
    for (const { keys } of issuerInformers) for (const key of keys()) issuerQueue.add(key);
    controller.start();
    for (const object of credentials.list()) queue.add(keyOf(object));
    log.info({ credentials: credentials.list().length }, "reconciling");
  };
  const elector = flags["leader-elect"]
    ? new LeaderElector({ kc, namespace, name: "rotor-leader", identity: flags.identity as string, log })
    : undefined;
  if (elector) elector.run(startLeading, () => fatal("lost leadership"));
  else startLeading();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: no new work, finishing in-flight reconciles");
    ready = false;
    const timeoutMs = parseDuration(flags["shutdown-timeout"] as string);
    const [finished] = await Promise.all([controller.stop(timeoutMs), issuerController.stop(timeoutMs)]);
    if (!finished) log.warn("in-flight reconciles did not finish in time");
    await elector?.release();
    await Promise.allSettled([...informers.map((i) => i.stop()), clientRegistry.stop()]);
    await http.close();
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
