/**
 * Apply: carries out a Plan. Each step is written so that a crash after it leaves a state the
 * next `observe → decide` recognises and completes (see the rotation protocol in api.md):
 * mint → persist the version Secret → verify → activate → switch the target → supersede.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { isoSeconds } from "../../api/duration.ts";
import { API_VERSION, CLIENT_CREDENTIAL } from "../../api/group.ts";
import type { Issuer, MintedSecret } from "../../issuers/issuer.ts";
import { backoffDelay, retryUntil, sleep } from "../../runtime/backoff.ts";
import type { EventRecorder, ObjectReference } from "../../runtime/events.ts";
import {
  FIELD_MANAGER,
  isConflict,
  isNotFound,
  makeClient,
  mergePatch,
  serverSideApply,
} from "../../runtime/kube.ts";
import { describeError, type Logger } from "../../runtime/log.ts";
import type { Restarter } from "../rollout/restarter.ts";
import { timingOf } from "./decide.ts";
import {
  type Action,
  ANN_ACTIVATED_AT,
  ANN_NOT_AFTER,
  ANN_ROLLED_OUT_AT,
  ANN_SECRET_ID,
  ANN_SUPERSEDED_AT,
  describeWithMarker,
  FINALIZER,
  type Plan,
} from "./model.ts";
import type { Observation } from "./observe.ts";
import {
  clientCredentialPath,
  desiredTarget,
  desiredVersion,
  type Owner,
  type SecretContent,
  versionValue,
} from "./resources.ts";

export interface ApplyOptions {
  /** How long a new secret may take to be accepted by the token endpoint. */
  verifyTimeoutMs: number;
  now: () => Date;
}

/** Whole seconds: what issuers store and what users read in `kubectl get cc`. */
const expiryFrom = (now: Date, validityMs: number) =>
  new Date(Math.floor((now.getTime() + validityMs) / 1000) * 1000);

const RETRY = { baseMs: 250, maxMs: 4000 };

export class Applier {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly options: ApplyOptions;
  readonly restarter: Restarter;

  constructor(
    kc: KubeConfig,
    events: EventRecorder,
    restarter: Restarter,
    log: Logger,
    options: ApplyOptions,
  ) {
    this.restarter = restarter;
    this.core = makeClient(kc, CoreV1Api);
    this.custom = makeClient(kc, CustomObjectsApi);
    this.events = events;
    this.log = log;
    this.options = options;
  }

  async apply(observation: Observation, plan: Plan): Promise<void> {
    const step = new Step(this, observation);
    for (const action of plan.actions) await step.run(action);
  }

  // --- primitives used by Step -------------------------------------------------------------

  async patchFinalizers(observation: Observation, finalizers: string[]): Promise<void> {
    const { namespace, name } = observation.snapshot.cc;
    await this.custom.patchNamespacedCustomObject(
      {
        ...clientCredentialPath(namespace, name),
        // resourceVersion makes this a compare-and-swap: other controllers' finalizers are kept.
        body: { metadata: { finalizers, resourceVersion: observation.object.metadata?.resourceVersion } },
      },
      mergePatch,
    );
  }

  /**
   * Records a chosen client id before the client is created. A merge patch, not an apply: it
   * must set this one field and leave the rest of the status as the last full write left it.
   */
  async writeStatusClientId(observation: Observation, clientId: string): Promise<void> {
    const { namespace, name } = observation.snapshot.cc;
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        ...clientCredentialPath(namespace, name),
        body: { status: { clientId } },
      },
      mergePatch,
    );
  }

  async createVersion(secret: V1Secret): Promise<void> {
    const namespace = secret.metadata?.namespace as string;
    const deadline = performance.now() + 30_000;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.core.createNamespacedSecret({ namespace, body: secret });
        return;
      } catch (error) {
        if (isConflict(error) || performance.now() > deadline) throw error;
        await sleep(backoffDelay(RETRY, attempt));
      }
    }
  }

  async annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    await this.core.patchNamespacedSecret(
      { namespace, name, body: { metadata: { annotations } } },
      mergePatch,
    );
  }

  async deleteSecret(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async writeTarget(observation: Observation, target: V1Secret): Promise<void> {
    const namespace = target.metadata?.namespace as string;
    const name = target.metadata?.name as string;
    if (observation.snapshot.target.state === "missing") {
      // Create, never apply: a Secret that appeared meanwhile is not Rotor's to take over.
      try {
        await this.core.createNamespacedSecret({ namespace, body: target });
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
        throw new Error(`Secret ${name} appeared while Rotor was writing it; it will be re-examined`);
      }
    }
    await this.core.patchNamespacedSecret(
      { namespace, name, body: target, fieldManager: FIELD_MANAGER, force: true },
      serverSideApply,
    );
  }

  async verify(issuer: Issuer, clientId: string, value: string): Promise<string | undefined> {
    let reason = "verification timed out";
    const ok = await retryUntil(
      async () => {
        const result = await issuer.verify(clientId, value);
        if (result.ok) return true;
        reason = result.reason;
        return undefined;
      },
      { deadlineMs: this.options.verifyTimeoutMs, backoff: RETRY },
    );
    return ok ? undefined : reason;
  }

  event(
    observation: Observation,
    type: "Normal" | "Warning",
    reason: string,
    action: string,
    note: string,
  ): void {
    const { cc } = observation.snapshot;
    const ref: ObjectReference = {
      apiVersion: API_VERSION,
      kind: CLIENT_CREDENTIAL.kind,
      name: cc.name,
      namespace: cc.namespace,
      uid: cc.uid,
    };
    this.events.record(ref, type, reason, action, note);
  }

  get now(): Date {
    return this.options.now();
  }

  warn(message: string, fields: Record<string, unknown>): void {
    this.log.warn(fields, message);
  }
}

/** One plan's execution against one observation. */
class Step {
  private readonly applier: Applier;
  private readonly observation: Observation;
  private readonly owner: Owner;

  constructor(applier: Applier, observation: Observation) {
    this.applier = applier;
    this.observation = observation;
    const { uid, name, namespace } = observation.snapshot.cc;
    this.owner = { uid, name, namespace };
  }

  private get snapshot() {
    return this.observation.snapshot;
  }

  private get issuer(): Issuer {
    if (!this.observation.issuer) throw new Error("no issuer resolved");
    return this.observation.issuer;
  }

  async run(action: Action): Promise<void> {
    const { cc } = this.snapshot;
    const a = this.applier;
    switch (action.type) {
      case "addFinalizer":
        await a.patchFinalizers(this.observation, [
          ...(this.observation.object.metadata?.finalizers ?? []),
          FINALIZER,
        ]);
        return;
      case "removeFinalizer":
        if (action.warning)
          a.event(this.observation, "Warning", "RevocationAbandoned", "Delete", action.warning);
        await a.patchFinalizers(
          this.observation,
          (this.observation.object.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER),
        );
        return;
      case "createClient":
        await this.createClient(action.clientId);
        return;
      case "deleteClient":
        await this.issuer.deleteClient(this.snapshot.clientId as string);
        a.event(
          this.observation,
          "Normal",
          "ClientDeleted",
          "Delete",
          `Deleted client ${this.snapshot.clientId} at the issuer`,
        );
        return;
      case "revoke":
        await this.issuer.revokeSecret(this.snapshot.clientId as string, action.secretId);
        if (action.versionName) await a.deleteSecret(cc.namespace, action.versionName);
        a.event(
          this.observation,
          "Normal",
          "Revoked",
          "Revoke",
          `Revoked secret ${action.secretId} (${REVOKE_WHY[action.reason]})`,
        );
        return;
      case "deleteVersion":
        await a.deleteSecret(cc.namespace, action.versionName);
        a.event(
          this.observation,
          "Normal",
          "VersionDeleted",
          "Delete",
          `Deleted version Secret ${action.versionName}: ${action.why}`,
        );
        return;
      case "markRolledOut":
        await a.annotate(cc.namespace, action.versionName, { [ANN_ROLLED_OUT_AT]: isoSeconds(a.now) });
        a.event(
          this.observation,
          "Normal",
          "RolledOut",
          "Rollout",
          `No pod that may hold the secret of ${action.versionName} is left; it is revoked after gracePeriod ${cc.spec.gracePeriod}`,
        );
        return;
      case "restart": {
        const what = `${action.workload.kind}/${action.workload.name}`;
        a.restarter.request(cc.namespace, action.workload, action.secretId, (error) => {
          if (error)
            a.event(
              this.observation,
              "Warning",
              "RolloutRestartFailed",
              "Restart",
              `Could not restart ${what}: ${error}`,
            );
          else
            a.event(
              this.observation,
              "Normal",
              "RolloutRestarted",
              "Restart",
              `Restarted ${what} so that its pods pick up secret ${action.secretId}`,
            );
        });
        return;
      }
      case "deleteStaleTarget":
        await a.deleteSecret(cc.namespace, action.secretName);
        a.event(
          this.observation,
          "Normal",
          "TargetMoved",
          "Delete",
          `Deleted Secret ${action.secretName}: spec.secretName is now ${this.snapshot.secretName}`,
        );
        return;
      case "markSuperseded":
        await a.annotate(cc.namespace, action.versionName, { [ANN_SUPERSEDED_AT]: isoSeconds(a.now) });
        return;
      case "repairTarget": {
        const content = this.contentOf(action.versionName);
        await a.writeTarget(
          this.observation,
          desiredTarget(this.owner, cc.spec, this.snapshot.secretName, content),
        );
        a.event(
          this.observation,
          "Normal",
          "TargetRestored",
          "Update",
          `Wrote Secret ${this.snapshot.secretName} from version Secret ${action.versionName} (secret ${content.secretId}); nothing minted`,
        );
        return;
      }
      case "resume": {
        const content = this.contentOf(action.versionName);
        await this.verifyAndSwitch(content, action.versionName, "Rotated");
        return;
      }
      case "mint": {
        const mintId = randomBytes(5).toString("hex");
        const expiration = expiryFrom(a.now, timingOf(cc.spec).validityMs);
        const minted = await this.issuer.mintSecret(this.snapshot.clientId as string, {
          description: this.description(mintId),
          expiration,
        });
        await this.install(
          minted,
          this.snapshot.clientId as string,
          mintId,
          action.rotateRequest,
          action.reason === "initial" ? "Issued" : "Rotated",
        );
        return;
      }
    }
  }

  private description(mintId: string): string {
    const max = this.snapshot.issuer.ok ? this.snapshot.issuer.maxDescriptionLength : 256;
    return describeWithMarker(this.snapshot.cc.spec.description, this.snapshot.cc.uid, mintId, max);
  }

  private async createClient(requested: string | undefined): Promise<void> {
    const a = this.applier;
    const { cc } = this.snapshot;
    const clientId = requested ?? randomUUID();
    // Record the chosen id before creating the client, so that a crash in between does not
    // leave a client nobody knows about.
    if (!requested) await a.writeStatusClientId(this.observation, clientId);
    const mintId = randomBytes(5).toString("hex");
    let minted: MintedSecret;
    try {
      minted = await this.issuer.createClient({
        clientId,
        name: cc.spec.clientName ?? `${cc.namespace}/${cc.name}`,
        roleIds: cc.spec.roleIds ?? [],
        firstSecret: {
          description: this.description(mintId),
          expiration: expiryFrom(a.now, timingOf(cc.spec).validityMs),
        },
      });
    } catch (error) {
      // The client exists already (a given clientId, or a retry): the next reconcile mints.
      if (error instanceof Error && "kind" in error && error.kind === "ClientExists") return;
      throw error;
    }
    a.event(
      this.observation,
      "Normal",
      "ClientCreated",
      "Create",
      `Created client ${clientId} at the issuer`,
    );
    await this.install(minted, clientId, mintId, undefined, "Issued");
  }

  /** Persist, verify, switch. The version Secret is written before anything refers to the secret. */
  private async install(
    minted: MintedSecret,
    clientId: string,
    mintId: string,
    rotateRequest: string | undefined,
    reason: "Issued" | "Rotated",
  ): Promise<void> {
    const a = this.applier;
    const { cc } = this.snapshot;
    const content: SecretContent = {
      clientId,
      value: minted.value,
      secretId: minted.id,
      notAfter: minted.expiration,
      tokenUrl: this.issuer.tokenUrl,
    };
    const version = desiredVersion(this.owner, cc.spec, this.snapshot.secretName, content, {
      createdAt: isoSeconds(a.now),
      mintId,
      rotateRequest,
    });
    try {
      await a.createVersion(version);
    } catch (error) {
      // The value could not be kept: revoke the secret now rather than leave an orphan.
      await this.issuer.revokeSecret(clientId, minted.id).catch(() => undefined);
      throw new Error(
        `could not store secret ${minted.id} in a version Secret (${describeError(error)}); it was revoked`,
      );
    }
    await this.verifyAndSwitch(content, version.metadata?.name as string, reason);
  }

  private async verifyAndSwitch(
    content: SecretContent,
    versionName: string,
    reason: "Issued" | "Rotated",
  ): Promise<void> {
    const a = this.applier;
    const { cc } = this.snapshot;
    const failure = await a.verify(this.issuer, content.clientId, content.value);
    if (failure) {
      await this.issuer.revokeSecret(content.clientId, content.secretId);
      await a.deleteSecret(cc.namespace, versionName);
      a.event(
        this.observation,
        "Warning",
        "VerificationFailed",
        "Verify",
        `The token endpoint did not accept new secret ${content.secretId} (${failure}); it was revoked and the switch did not happen`,
      );
      throw new Error(`new secret ${content.secretId} failed verification: ${failure}`);
    }
    const switchedAt = isoSeconds(a.now);
    await a.annotate(cc.namespace, versionName, { [ANN_ACTIVATED_AT]: switchedAt });
    await a.writeTarget(
      this.observation,
      desiredTarget(this.owner, cc.spec, this.snapshot.secretName, content),
    );
    const previous = this.snapshot.versions.filter(
      (v) => v.activatedAt && !v.supersededAt && v.name !== versionName,
    );
    for (const v of previous) await a.annotate(cc.namespace, v.name, { [ANN_SUPERSEDED_AT]: switchedAt });
    const verb = reason === "Issued" ? "Issued" : "Rotated to";
    a.event(
      this.observation,
      "Normal",
      reason,
      reason === "Issued" ? "Issue" : "Rotate",
      `${verb} secret ${content.secretId} (expires ${content.notAfter}); verified at the token endpoint and written to Secret ${this.snapshot.secretName}`,
    );
  }

  private contentOf(versionName: string): SecretContent {
    const secret = this.observation.versionSecrets.get(versionName);
    const value = secret ? versionValue(secret, this.snapshot.cc.spec.keys.clientSecret) : undefined;
    const annotations = secret?.metadata?.annotations ?? {};
    const clientId = this.snapshot.clientId;
    if (!secret || value === undefined || !clientId)
      throw new Error(`version Secret ${versionName} has no readable value`);
    return {
      clientId,
      value,
      secretId: annotations[ANN_SECRET_ID] as string,
      notAfter: annotations[ANN_NOT_AFTER] as string,
      tokenUrl: this.issuer.tokenUrl,
    };
  }
}

const REVOKE_WHY: Record<Extract<Action, { type: "revoke" }>["reason"], string> = {
  orphan: "an orphan: minted by Rotor, but its value was never stored",
  expired: "expired",
  superseded: "superseded, grace period over",
  abandoned: "never switched to",
  deleting: "the ClientCredential is being deleted",
  bootstrap: "the bootstrap secret, replaced by Rotor's own",
};
