/**
 * The controllers Rotor runs, what each is built from, and which informer events wake which of
 * their keys. The manager (runtime/manager.ts) runs them while this replica leads.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { CLIENT_CREDENTIAL, GROUP, VERSION } from "../api/group.ts";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../api/metadata.ts";
import type { Flags } from "../flags.ts";
import type { Issuer } from "../issuers/issuer.ts";
import type { OcsTenants } from "../issuers/ocs/tenants.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { makeClient } from "../runtime/kube.ts";
import type { Logger } from "../runtime/log.ts";
import { type Manager, objectKey, ownerKey, watch } from "../runtime/manager.ts";
import { KubeWriter } from "./clientcredential/apply/index.ts";
import { ClientIdHolders } from "./clientcredential/holders.ts";
import { IssuerResolver } from "./clientcredential/issuer-access.ts";
import type { CredentialMetrics } from "./clientcredential/metrics.ts";
import { Observer } from "./clientcredential/observe.ts";
import { ClientCredentialReconciler } from "./clientcredential/reconciler.ts";
import type { ClientCredentialObject } from "./clientcredential/resources.ts";
import { IssuerReconciler } from "./issuer/reconciler.ts";
import { clientCredentialsUsing, issuerGroup, issuerWatches } from "./issuer/watches.ts";
import { Restarter } from "./rollout/restarter.ts";

export interface ControllerDependencies {
  kc: KubeConfig;
  flags: Flags;
  log: Logger;
  events: EventRecorder;
  metrics: CredentialMetrics;
  embedded: Issuer & { tokenUrl: string };
  tenants: OcsTenants;
  /** Calls back when the embedded issuer's CA bundle may have changed (TLS only). */
  onCaBundleChange?: (listener: () => void) => void;
}

export function setUpControllers(manager: Manager, deps: ControllerDependencies): void {
  const { kc, flags, log, events, metrics, embedded, tenants } = deps;
  const now = () => new Date();
  const custom = makeClient(kc, CustomObjectsApi);
  const core = makeClient(kc, CoreV1Api);
  const { plural } = CLIENT_CREDENTIAL;
  const credentials = manager.informer<ClientCredentialObject>({
    name: plural,
    kc,
    path: `/apis/${GROUP}/${VERSION}/${plural}`,
    list: () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as never,
  });
  // Only the Secrets Rotor wrote (label-selected): never a cache of every Secret in the cluster.
  const managed = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  const ownSecrets = manager.informer<V1Secret>({
    name: "rotor-secrets",
    kc,
    path: "/api/v1/secrets",
    labelSelector: managed,
    list: () => core.listSecretForAllNamespaces({ labelSelector: managed }),
  });
  const holders = new ClientIdHolders();

  const restarter = new Restarter(kc, log, {
    windowMs: flags.restartWindowMs,
    maxPerNamespace: flags.maxRestartsPerNamespace,
  });
  const credentialController = manager.controller({
    name: "clientcredential",
    workers: flags.workers,
    backoff: { baseMs: 1000, maxMs: 5 * 60_000 },
    reconciler: new ClientCredentialReconciler(
      {
        observer: new Observer(
          kc,
          new IssuerResolver(kc, embedded, tenants, flags.namespace),
          (clientId, self) => holders.holderOther(clientId, self),
        ),
        writer: new KubeWriter(kc),
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
        failureBackoff: { baseMs: 5000, maxMs: 5 * 60_000 },
      },
    ),
    watches: [watch(credentials, objectKey), watch(ownSecrets, ownerKey(CLIENT_CREDENTIAL.kind))],
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

  // Issuers: checked on every change and every --issuer-check-interval; a change of readiness
  // wakes the ClientCredentials that use the issuer.
  manager.controller({
    name: "issuer",
    workers: 2,
    groupOf: issuerGroup,
    reconciler: new IssuerReconciler(kc, tenants, events, log, {
      operatorNamespace: flags.namespace,
      embeddedTokenUrl: embedded.tokenUrl,
      recheckMs: flags.issuerCheckIntervalMs,
      retryMs: 5000,
      now,
      onChanged: (ref) => {
        for (const key of clientCredentialsUsing(ref, credentials.list())) credentialController.enqueue(key);
      },
    }),
    watches: issuerWatches(manager, kc),
  });
}
