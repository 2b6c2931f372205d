/**
 * The issuer controller: for every CredentialIssuer and ClusterCredentialIssuer, checks that
 * Rotor can work with the issuer (OCS: ocs/check.ts; OAuth2 registration: oauth2/check.ts) and
 * reports it in `Ready`, on change and every `recheckMs`. ClientCredentials that use an issuer
 * are woken when its readiness changes.
 */
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { parseDuration } from "../../api/duration.ts";
import { GROUP, VERSION } from "../../api/group.ts";
import {
  clusterCredentialIssuerSpec,
  credentialIssuerSpec,
  type GrantedRole,
  type IssuerStatus,
} from "../../api/issuer.ts";
import type { Readiness } from "../../issuers/http/connections.ts";
import { checkServer } from "../../issuers/oauth2/check.ts";
import type { CheckResult } from "../../issuers/ocs/check.ts";
import { OcsIssuer } from "../../issuers/ocs/issuer.ts";
import { type Condition, setCondition, setProgress } from "../../runtime/conditions.ts";
import type { Reconciler, Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import { isNotFound, makeClient, mergePatch } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { CLIENT_ROLES, reportClientRoles } from "./client-roles.ts";
import { forgetIssuer, type IssuerConnections } from "./connections.ts";
import { type IssuerRef, parseIssuerKey } from "./keys.ts";
import type { IssuerMetrics } from "./metrics.ts";

export interface IssuerReconcilerOptions {
  /** Where a ClusterCredentialIssuer's Secret must be: Rotor's own namespace. */
  operatorNamespace: string;
  /** The embedded issuer's token endpoint, reported on issuers with `spec.embedded`. */
  embeddedTokenUrl: string;
  /** How long the embedded issuer's tokens live (--token-lifetime), for all its clients. */
  embeddedTokenLifetimeSeconds: number;
  recheckMs: number;
  now: () => Date;
  /** Readiness changed: the ClientCredentials that use this issuer should look again. */
  onChanged: (ref: IssuerRef) => void;
  metrics?: IssuerMetrics;
}

interface IssuerObject {
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number };
  spec?: unknown;
  status?: IssuerStatus;
}

export class IssuerReconciler implements Reconciler {
  private readonly custom: CustomObjectsApi;
  private readonly connections: IssuerConnections;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly options: IssuerReconcilerOptions;

  constructor(
    kc: KubeConfig,
    connections: IssuerConnections,
    events: EventRecorder,
    log: Logger,
    options: IssuerReconcilerOptions,
  ) {
    this.custom = makeClient(kc, CustomObjectsApi);
    this.connections = connections;
    this.events = events;
    this.log = log;
    this.options = options;
  }

  /** `_signal`: aborted when leadership ends or the time budget is spent (runtime/controller.ts). */
  async reconcile(key: string, _signal?: AbortSignal): Promise<Result> {
    const ref = parseIssuerKey(key);
    const object = await this.read(ref);
    if (!object) {
      forgetIssuer(this.connections, key);
      this.options.metrics?.forget(ref);
      this.options.onChanged(ref);
      return {};
    }
    const { result, tokenEndpoint, oauth2 } = await this.check(key, ref, object);
    // Each kind's ClientCredentials read their issuer's last check where they connect.
    const checks = oauth2 ? this.connections.oauth2 : this.connections.ocs;
    const previous = checks.lastCheck(key);
    checks.recordCheck(key, result);
    this.options.metrics?.observe(ref, result.ok);

    const now = this.options.now();
    const generation = object.metadata?.generation;
    const previousConditions = object.status?.conditions as Condition[] | undefined;
    const roles = reportClientRoles(
      result,
      // An issuer Rotor cannot use stays so until something outside Rotor changes: Stalled.
      setProgress(
        setCondition(
          previousConditions,
          {
            type: "Ready",
            status: result.ok ? "True" : "False",
            reason: result.reason,
            message: result.message,
          },
          generation,
          now,
        ),
        result.ok ? undefined : { type: "Stalled", reason: result.reason, message: result.message },
        generation,
        now,
      ),
      generation,
      now,
    );
    await this.writeStatus(ref, {
      observedGeneration: generation,
      tokenEndpoint: tokenEndpoint ?? object.status?.tokenEndpoint,
      lastCheckTime: result.ok ? now.toISOString() : object.status?.lastCheckTime,
      ...roles,
    });
    this.recordRolesChange(ref, object, previousConditions, result.clientRoles);

    const changed = previous?.ok !== result.ok || previous?.reason !== result.reason;
    if (changed) {
      this.events.record(
        involved(ref, object),
        result.ok ? "Normal" : "Warning",
        result.ok ? "IssuerReady" : "IssuerNotReady",
        "Check",
        result.message,
      );
      this.log.info({ issuer: key, ready: result.ok, reason: result.reason }, "issuer checked");
      this.options.onChanged(ref);
    }
    // A failed check is retried with the queue's backoff (5s doubling up to the check interval).
    return result.ok ? { requeueAfterMs: this.options.recheckMs } : { failed: true };
  }

  /** An event when the roles clients get, or what is wrong with them, change. */
  private recordRolesChange(
    ref: IssuerRef,
    object: IssuerObject,
    conditions: Condition[] | undefined,
    roles: CheckResult["clientRoles"],
  ): void {
    const before = conditions?.find((c) => c.type === CLIENT_ROLES);
    if (!roles || (before?.reason === roles.reason && before.message === roles.message)) return;
    this.events.record(
      involved(ref, object),
      roles.ok ? "Normal" : "Warning",
      roles.ok ? "ClientRolesResolved" : "ClientRolesInvalid",
      "Check",
      roles.message,
    );
  }

  private async check(
    key: string,
    ref: IssuerRef,
    object: IssuerObject,
  ): Promise<{
    result: Readiness & Pick<CheckResult, "clientRoles">;
    tokenEndpoint?: string;
    oauth2?: boolean;
  }> {
    const schema = ref.kind === "CredentialIssuer" ? credentialIssuerSpec : clusterCredentialIssuerSpec;
    const parsed = schema.safeParse(object.spec);
    if (!parsed.success) {
      forgetIssuer(this.connections, key);
      return {
        result: {
          ok: false,
          reason: "InvalidSpec",
          message: parsed.error.issues[0]?.message ?? "invalid spec",
        },
      };
    }
    const spec = parsed.data;
    const secretNamespace = ref.namespace ?? this.options.operatorNamespace;
    if (spec.oauth2) {
      const server = this.connections.oauth2.connect(key, spec.oauth2, secretNamespace);
      const result = await checkServer(server);
      return { result, tokenEndpoint: server.discovery.known?.token, oauth2: true };
    }
    if (!spec.ocs) {
      // One token lifetime serves every client of the built-in issuer: say so rather than
      // let a different spec.embedded.accessTokenLifetime look applied.
      const asked = spec.embedded
        ? Math.round(parseDuration(spec.embedded.accessTokenLifetime) / 1000)
        : undefined;
      const lifetime = this.options.embeddedTokenLifetimeSeconds;
      const message =
        asked === undefined || asked === lifetime
          ? "Rotor's built-in issuer"
          : `Rotor's built-in issuer; its tokens live ${lifetime}s (Rotor's --token-lifetime) for every client: spec.embedded.accessTokenLifetime is not applied per issuer`;
      return {
        result: { ok: true, reason: "Embedded", message },
        tokenEndpoint: this.options.embeddedTokenUrl,
      };
    }
    const connection = this.connections.ocs.connect(key, spec.ocs, secretNamespace);
    // With auth.self there is no administrator: the check stops after discovery.
    const issuer = new OcsIssuer(
      connection.tenant,
      spec.ocs.auth.self
        ? { mode: "self", clientId: "", secrets: async () => [] }
        : { mode: "admin", credential: connection.adminCredential },
    );
    const result = await issuer.check();
    return { result, tokenEndpoint: connection.tenant.tokens.knownEndpoint };
  }

  private async read(ref: IssuerRef): Promise<IssuerObject | undefined> {
    try {
      return (await (ref.namespace
        ? this.custom.getNamespacedCustomObject({ ...path(ref), namespace: ref.namespace })
        : this.custom.getClusterCustomObject(path(ref)))) as IssuerObject;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** `clientRoles: null` removes it (a merge patch). */
  private async writeStatus(
    ref: IssuerRef,
    status: Omit<IssuerStatus, "clientRoles"> & { clientRoles?: GrantedRole[] | null },
  ): Promise<void> {
    const body = { status };
    try {
      if (ref.namespace)
        await this.custom.patchNamespacedCustomObjectStatus(
          { ...path(ref), namespace: ref.namespace, body },
          mergePatch,
        );
      else await this.custom.patchClusterCustomObjectStatus({ ...path(ref), body }, mergePatch);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

const involved = (ref: IssuerRef, object: IssuerObject) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: ref.kind,
  name: ref.name,
  namespace: ref.namespace,
  uid: object.metadata?.uid,
});

const path = (ref: IssuerRef) => ({
  group: GROUP,
  version: VERSION,
  plural: ref.kind === "CredentialIssuer" ? "credentialissuers" : "clustercredentialissuers",
  name: ref.name,
});
