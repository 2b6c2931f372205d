/**
 * The ClientCredential reconciler: observe → decide → apply, then observe again and report.
 * Level-based and idempotent: it never trusts which event woke it.
 */
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { ClientCredentialStatus } from "../../api/clientcredential.ts";
import { API_VERSION, CLIENT_CREDENTIAL } from "../../api/group.ts";
import { backoffDelay } from "../../runtime/backoff.ts";
import { setCondition } from "../../runtime/conditions.ts";
import type { Reconciler, Result } from "../../runtime/controller.ts";
import { FIELD_MANAGER, isNotFound, makeClient, serverSideApply } from "../../runtime/kube.ts";
import { describeError, type Logger } from "../../runtime/log.ts";
import type { Applier } from "./apply.ts";
import { type DecideOptions, decide } from "./decide.ts";
import type { CredentialMetrics } from "./metrics.ts";
import type { Plan } from "./model.ts";
import type { Observer } from "./observe.ts";
import { clientCredentialPath } from "./resources.ts";
import { computeStatus } from "./status.ts";

export interface ReconcilerOptions extends DecideOptions {
  now: () => Date;
  /** Backoff for issuer failures and an exhausted budget: base · 2^attempts, capped. */
  failureBackoffMs: { baseMs: number; maxMs: number };
}

const RETRYABLE_BLOCKERS = new Set(["IssuerError", "SlotsExhausted"]);

export class ClientCredentialReconciler implements Reconciler {
  private readonly observer: Observer;
  private readonly applier: Applier;
  private readonly custom: CustomObjectsApi;
  private readonly metrics: CredentialMetrics;
  private readonly log: Logger;
  private readonly options: ReconcilerOptions;

  constructor(
    kc: KubeConfig,
    observer: Observer,
    applier: Applier,
    metrics: CredentialMetrics,
    log: Logger,
    options: ReconcilerOptions,
  ) {
    this.observer = observer;
    this.applier = applier;
    this.custom = makeClient(kc, CustomObjectsApi);
    this.metrics = metrics;
    this.log = log;
    this.options = options;
  }

  /** `_signal`: aborted when leadership ends or the time budget is spent (runtime/controller.ts). */
  async reconcile(key: string, _signal?: AbortSignal): Promise<Result> {
    const [namespace, name] = key.split("/") as [string, string];
    let observed = await this.observer.observe(namespace, name);
    if (!observed.found) {
      this.metrics.forget(namespace, name);
      return {};
    }
    if (observed.invalidSpec !== undefined) {
      await this.writeStatus(namespace, name, {
        conditions: setCondition(
          [],
          { type: "Ready", status: "False", reason: "InvalidSpec", message: observed.invalidSpec },
          observed.object.metadata?.generation,
          this.options.now(),
        ),
      });
      return {};
    }

    let plan: Plan = decide(observed.snapshot, this.options.now(), this.options);
    let applyError: string | undefined;
    if (plan.actions.length > 0) {
      const minting = plan.actions.some(
        (a) => a.type === "mint" || a.type === "resume" || a.type === "createClient",
      );
      try {
        await this.applier.apply(observed, plan);
        if (minting) this.metrics.rotations.inc({ result: "success" });
      } catch (error) {
        applyError = describeError(error);
        if (minting) this.metrics.rotations.inc({ result: "failure" });
        this.log.warn({ key, error: applyError }, "could not carry out the plan");
      }
      if (plan.actions.some((a) => a.type === "removeFinalizer") && !applyError) return {};
      observed = await this.observer.observe(namespace, name);
      if (!observed.found || observed.invalidSpec !== undefined) return {};
      // Notices of what was just done (an expiry revoked under live pods) stay reported.
      const appliedNotices = plan.notices;
      plan = decide(observed.snapshot, this.options.now(), this.options);
      const fresh = plan.notices.filter((n) => !appliedNotices.some((m) => m.reason === n.reason));
      plan = { ...plan, notices: [...appliedNotices, ...fresh] };
    }

    const { snapshot } = observed;
    if (snapshot.cc.deletionTimestamp) {
      if (applyError) throw new Error(applyError);
      // Held by the finalizer (an unreachable issuer): say why the object does not go away.
      if (plan.blocker) {
        const { status } = snapshot.cc;
        this.applier.event(observed, "Warning", plan.blocker.reason, "Delete", plan.blocker.message);
        await this.writeStatus(namespace, name, {
          ...status,
          conditions: setCondition(
            status.conditions,
            { type: "Ready", status: "False", reason: plan.blocker.reason, message: plan.blocker.message },
            snapshot.cc.generation,
            this.options.now(),
          ),
        });
      }
      return { requeueAfterMs: plan.requeueAfterMs };
    }
    const failed =
      applyError !== undefined || (plan.blocker !== undefined && RETRYABLE_BLOCKERS.has(plan.blocker.reason));
    const previous = snapshot.cc.status;
    const failedAttempts = failed ? (previous.failedAttempts ?? 0) + 1 : 0;
    const now = this.options.now();
    const status = computeStatus(snapshot, plan, now, {
      failedAttempts,
      lastFailureTime: failed ? now.toISOString() : previous.lastFailureTime,
      lastError: applyError,
    });
    if (plan.blocker) {
      this.applier.event(observed, "Warning", plan.blocker.reason, "Reconcile", plan.blocker.message);
    }
    for (const notice of plan.notices)
      this.applier.event(observed, notice.type, notice.reason, "Rollout", notice.message);
    if (JSON.stringify(stripTimes(status)) !== JSON.stringify(stripTimes(previous)) || failed) {
      await this.writeStatus(namespace, name, status);
    }
    this.metrics.observe(namespace, name, status);

    if (failed) {
      return { requeueAfterMs: backoffDelay(this.options.failureBackoffMs, failedAttempts - 1) };
    }
    // Something is still to do (the apply made progress, caches catch up): look again soon.
    // Restart requests are coalesced elsewhere and need no immediate second look.
    if (plan.actions.some((a) => a.type !== "restart")) return { requeueAfterMs: 500 };
    return { requeueAfterMs: plan.requeueAfterMs };
  }

  private async writeStatus(namespace: string, name: string, status: ClientCredentialStatus): Promise<void> {
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        {
          ...clientCredentialPath(namespace, name),
          body: {
            apiVersion: API_VERSION,
            kind: CLIENT_CREDENTIAL.kind,
            metadata: { name, namespace },
            status,
          },
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        serverSideApply,
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** Status without the fields that change on every write, to skip writes that change nothing. */
function stripTimes(status: ClientCredentialStatus): unknown {
  const { lastFailureTime: _t, conditions, ...rest } = status;
  return { ...rest, conditions: (conditions ?? []).map(({ lastTransitionTime: _l, ...c }) => c) };
}
