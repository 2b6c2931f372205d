/**
 * The controllers Rotor runs, what each is built from, and which informer events wake which of
 * their keys. The manager (runtime/manager.ts) runs them while this replica leads.
 */

import type { KubeConfig } from "@kubernetes/client-node";
import { Counter, type Registry } from "prom-client";
import { CLIENT_CREDENTIAL, GROUP, VERSION } from "../api/group.ts";
import { LABEL_MANAGED_BY, LABEL_ROLE, MANAGED_BY } from "../api/metadata.ts";
import type { Flags } from "../flags.ts";
import type { Issuer } from "../issuers/issuer.ts";
import { RegistrationStore } from "../issuers/oauth2/registrations.ts";
import { RegistrationServers } from "../issuers/oauth2/servers.ts";
import { OcsTenants } from "../issuers/ocs/tenants.ts";
import { definitionDeleting } from "../runtime/definition.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { Expectations } from "../runtime/expectations.ts";
import type { Logger } from "../runtime/log.ts";
import { type Manager, notStatusOnly, objectKey, ownerKey, watch } from "../runtime/manager.ts";
import { KubeWriter } from "./clientcredential/apply/index.ts";
import { ClientIdHolders } from "./clientcredential/holders.ts";
import { IssuerResolver } from "./clientcredential/issuer-access.ts";
import type { CredentialMetrics } from "./clientcredential/metrics.ts";
import { Observer } from "./clientcredential/observe.ts";
import { ClientCredentialReconciler } from "./clientcredential/reconciler.ts";
import type { ClientCredentialObject } from "./clientcredential/resources.ts";
import type { IssuerConnections } from "./issuer/connections.ts";
import { IssuerMetrics } from "./issuer/metrics.ts";
import { IssuerReconciler } from "./issuer/reconciler.ts";
import { clientCredentialsUsing, issuerGroup, issuerWatches } from "./issuer/watches.ts";
import { NamespaceGate, secretInformers } from "./namespaces.ts";
import { Restarter } from "./rollout/restarter.ts";

export interface ControllerDependencies {
  kc: KubeConfig;
  flags: Flags;
  log: Logger;
  events: EventRecorder;
  metrics: CredentialMetrics;
  embedded: Issuer & { tokenUrl: string };
  /** Where the issuers' request counters go. */
  registry: Registry;
  /** Calls back when the embedded issuer's CA bundle may have changed (TLS only). */
  onCaBundleChange?: (listener: () => void) => void;
}

export function setUpControllers(manager: Manager, deps: ControllerDependencies): void {
  const { kc, flags, log, events, metrics, embedded } = deps;
  const connections = issuerConnections(kc, flags, deps.registry);
  const now = () => new Date();
  const { plural } = CLIENT_CREDENTIAL;
  const credentials = manager.informer<ClientCredentialObject>({
    name: plural,
    kc,
    path: `/apis/${GROUP}/${VERSION}/${plural}`,
    // Sharding: several Rotor Deployments, each with its own selector and Lease (README "Scale").
    labelSelector: flags.watchLabelSelector,
  });
  // Only the version and target Secrets Rotor wrote (label-selected): never a cache of every
  // Secret in the cluster, nor of the embedded issuer's records (its registry caches those); in
  // the namespaces Rotor serves (--watch-namespaces, controllers/namespaces.ts).
  const ownSecrets = secretInformers(
    manager,
    kc,
    flags.watchNamespaces,
    `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_ROLE}`,
  );
  const holders = new ClientIdHolders();
  const expectations = new Expectations();
  setInterval(() => expectations.sweep(), 30_000).unref();
  const secretsOf = (namespace: string, name: string) => ownSecrets.of(namespace)?.get(name, namespace);
  const writer = new KubeWriter(kc, {
    expectations,
    credentials: (namespace, name) => credentials.get(name, namespace),
    secrets: secretsOf,
  });
  const gate = (inner: ClientCredentialReconciler) =>
    new NamespaceGate(inner, flags.watchNamespaces, {
      readable: ownSecrets.readable,
      writer,
      events,
      get: (namespace, name) => credentials.get(name, namespace),
      clock: now,
    });

  const restarter = new Restarter(kc, log, {
    windowMs: flags.restartWindowMs,
    maxPerNamespace: flags.maxRestartsPerNamespace,
  });
  const credentialController = manager.controller({
    name: "clientcredential",
    workers: flags.workers,
    // Issuer failures, an exhausted budget, a refused verification: 2s doubling up to 5m.
    backoff: { baseMs: 2000, maxMs: 5 * 60_000 },
    reconciler: gate(
      new ClientCredentialReconciler(
        {
          observer: new Observer(
            kc,
            { credentials, secrets: ownSecrets.of, expectations },
            new IssuerResolver(kc, embedded, connections, flags.namespace),
            (clientId, self) => holders.holderOther(clientId, self),
            definitionDeleting(kc, `${CLIENT_CREDENTIAL.plural}.${GROUP}`),
          ),
          writer,
          restarts: restarter,
          events,
          metrics,
          log,
          clock: now,
        },
        {
          consumerResyncMs: flags.consumerResyncMs,
          finalizerTimeoutMs: flags.finalizerTimeoutMs,
          gracePeriodFloorMs: flags.gracePeriodFloorMs,
          verifyTimeoutMs: flags.verifyTimeoutMs,
        },
      ),
    ),
    watches: [
      watch(credentials, objectKey, notStatusOnly),
      ...ownSecrets.informers.map((informer) => watch(informer, ownerKey(CLIENT_CREDENTIAL.kind))),
    ],
    onReconciled: (seconds, result) => metrics.reconcileDuration.observe({ result }, seconds),
  });

  // Who holds each client id follows the cache; a claim that comes or goes wakes the other
  // claimants of that client (one of them may hold it now).
  // A new CA bundle goes into every target Secret now, not at each one's next reconcile. It
  // changes rarely (a next CA published, a handover, a repair), so waking all of them is fine.
  deps.onCaBundleChange?.(() => {
    for (const cc of credentials.list()) credentialController.enqueue(objectKey(cc));
  });

  credentials.onEvent((object, event) => {
    for (const key of holders.update(object, event === "delete")) credentialController.enqueue(key);
  });

  // Per-object series are the leader's: a replica that stops leading drops them.
  const issuerMetrics = new IssuerMetrics(deps.registry);
  manager.onTermEnd(() => {
    metrics.clear();
    issuerMetrics.clear();
  });

  // Issuers: checked on every change and every --issuer-check-interval; a change of readiness
  // wakes the ClientCredentials that use the issuer.
  manager.controller({
    name: "issuer",
    workers: 2,
    // A failed check is retried after 5s, doubling up to the check interval.
    backoff: { baseMs: 5000, maxMs: flags.issuerCheckIntervalMs },
    groupOf: issuerGroup,
    reconciler: new IssuerReconciler(kc, connections, events, log, {
      operatorNamespace: flags.namespace,
      embeddedTokenUrl: embedded.tokenUrl,
      embeddedTokenLifetimeSeconds: flags.tokenLifetimeSeconds,
      recheckMs: flags.issuerCheckIntervalMs,
      now,
      onChanged: (ref) => {
        for (const key of clientCredentialsUsing(ref, credentials.list())) credentialController.enqueue(key);
      },
      metrics: issuerMetrics,
    }),
    watches: issuerWatches(manager, kc),
  });
}

/** One connection (throttle, token cache) per issuer object, with Rotor's limits. */
function issuerConnections(kc: KubeConfig, flags: Flags, registry: Registry): IssuerConnections {
  const requests = new Counter({
    name: "rotor_issuer_requests_total",
    help: "HTTP requests Rotor made to OCS and OAuth2 issuers (every attempt), by issuer, method and outcome.",
    labelNames: ["issuer", "method", "outcome"],
    registers: [registry],
  });
  const options = {
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
    onAttempt: (issuer: string, method: string, outcome: string) =>
      requests.inc({ issuer, method, outcome: outcomeLabel(outcome) }),
  };
  return {
    ocs: new OcsTenants(kc, options),
    oauth2: new RegistrationServers(kc, options),
    registrations: new RegistrationStore(kc, flags.namespace),
  };
}

/**
 * An HTTP status, a Node error code (ECONNREFUSED), `timeout` or `too-large`; anything else (a
 * network error's message) is "network-error", so that the label's values stay a small set.
 */
export const outcomeLabel = (outcome: string): string =>
  /^([1-5][0-9]{2}|[A-Z][A-Z0-9_]{0,40}|timeout|too-large)$/.test(outcome) ? outcome : "network-error";
