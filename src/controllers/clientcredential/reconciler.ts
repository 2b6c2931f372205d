/**
 * The ClientCredential reconciler: observe (caches) → decide → apply, then observe again from
 * the caches once they show the writes, and report (status, events). Level-based and
 * idempotent: it never trusts which event woke it. The clock is read once per reconcile; every
 * decision, write and status of that reconcile uses that reading.
 */
import { isDeepStrictEqual } from "node:util";
import { setCondition } from "../../runtime/conditions.ts";
import type { Reconciler, Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { Logger } from "../../runtime/log.ts";
import {
  type ApplyContext,
  apply,
  type CredentialWriter,
  type Failure,
  failureOf,
  type RestartQueue,
} from "./apply/index.ts";
import { type DecideOptions, decide } from "./decide.ts";
import { type CredentialMetrics, issuerRefOf } from "./metrics.ts";
import type { Notice, Plan } from "./model.ts";
import { CACHES_FAILING, type Observation, type Observer } from "./observe.ts";
import { withProgress } from "./progress.ts";
import { mergeNotices } from "./report.ts";
import { type ClientCredentialObject, ccReference, parseClientCredential } from "./resources.ts";
import { computeStatus } from "./status.ts";

export interface ReconcilerOptions extends DecideOptions {
  /** How long a new secret may take to be accepted by the token endpoint. */
  verifyTimeoutMs: number;
}

export interface ReconcilerDeps {
  observer: Observer;
  writer: CredentialWriter;
  restarts: RestartQueue;
  events: EventRecorder;
  metrics: CredentialMetrics;
  log: Logger;
  clock: () => Date;
}

const RETRYABLE_BLOCKERS = new Set(["IssuerError", "SlotsExhausted"]);
const MINTING = new Set(["mint", "resume", "createClient"]);
/** Something is still to do after an apply (caches catch up): look again this soon. */
const SETTLE_MS = 500;
/** How soon a reconcile that found the caches behind Rotor's own writes looks again. */
const STALE_RETRY_MS = 200;

export class ClientCredentialReconciler implements Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly options: ReconcilerOptions;
  /** Notices of an applied plan, reported by the reconcile that reads its writes back. */
  private readonly carried = new Map<string, Notice[]>();

  constructor(deps: ReconcilerDeps, options: ReconcilerOptions) {
    this.deps = deps;
    this.options = options;
  }

  /** `_signal`: aborted when leadership ends or the time budget is spent (runtime/controller.ts). */
  async reconcile(key: string, _signal?: AbortSignal): Promise<Result> {
    const [namespace, name] = key.split("/") as [string, string];
    const { observer, metrics } = this.deps;
    const now = this.deps.clock();
    const observed = await observer.observe(namespace, name);
    if (!observed.found) {
      metrics.forget(namespace, name);
      this.carried.delete(key);
      return {};
    }
    // The caches do not show this reconcile's own last writes yet: their events are on the way.
    // Or they cannot reach the API server: back off until they can (the manager retries then).
    if (observed.stale !== undefined)
      return observed.stale === CACHES_FAILING ? { failed: true } : { requeueAfterMs: STALE_RETRY_MS };
    if (observed.invalidSpec !== undefined)
      return this.reportInvalid(observed.object, observed.invalidSpec, now);

    const plan: Plan = decide(observed.snapshot, now, this.options);
    const writes = plan.actions.some((a) => a.type !== "restart");
    if (!writes) {
      if (plan.actions.length > 0) await this.carryOut(observed, plan, now);
      const carried = this.carried.get(key);
      this.carried.delete(key);
      const notices = carried ? mergeNotices(carried, plan.notices) : plan.notices;
      return this.report(observed, { ...plan, notices }, undefined, now);
    }
    const failure = await this.carryOut(observed, plan, now);
    if (failure) return this.report(observed, plan, failure, now);
    if (plan.actions.some((a) => a.type === "removeFinalizer")) return {};
    // The writes are read back from the caches, not the API server: once their watch events
    // have arrived (expectations), usually within milliseconds. Then the fresh decision is
    // reported here; if it has more to do, or the caches are slow, the next reconcile does.
    const merged = mergeNotices(this.carried.get(key) ?? [], plan.notices);
    this.carried.delete(key);
    const after = (await observer.settled(observed.snapshot.cc.uid, SETTLE_MS))
      ? await observer.observe(namespace, name)
      : undefined;
    if (!after?.found || after.stale !== undefined || after.invalidSpec !== undefined) {
      if (after?.found !== false) this.carried.set(key, merged);
      return { requeueAfterMs: SETTLE_MS };
    }
    const next = decide(after.snapshot, now, this.options);
    if (next.actions.length > 0) {
      this.carried.set(key, merged);
      return { requeueAfterMs: SETTLE_MS };
    }
    return this.report(after, { ...next, notices: mergeNotices(merged, next.notices) }, undefined, now);
  }

  /** A spec the schema refuses (admission should have): said in Ready, written once per change. */
  private async reportInvalid(object: ClientCredentialObject, message: string, now: Date): Promise<Result> {
    const { namespace, name, generation } = object.metadata ?? {};
    const { status } = parseClientCredential(object);
    const key = { namespace: namespace as string, name: name as string };
    const identity = { ...key, issuerRef: issuerRefOf(object.spec) };
    const ready = status.conditions?.find((c) => c.type === "Ready");
    if (
      ready?.reason === "InvalidSpec" &&
      ready.message === message &&
      ready.observedGeneration === generation
    ) {
      this.deps.metrics.observe(identity, status);
      return {};
    }
    const invalid = {
      observedGeneration: generation,
      conditions: withProgress(
        setCondition([], { type: "Ready", status: "False", reason: "InvalidSpec", message }, generation, now),
        generation,
        now,
      ),
    };
    await this.deps.writer.writeStatus(key, invalid);
    this.deps.metrics.observe(identity, invalid);
    return {};
  }

  /** Applies the plan; a failure is returned (typed, safe to show), never thrown. */
  private async carryOut(observation: Observation, plan: Plan, now: Date): Promise<Failure | undefined> {
    const { metrics, log } = this.deps;
    const minting = plan.actions.some((a) => MINTING.has(a.type));
    const { namespace: ns, name } = observation.snapshot.cc;
    log.debug({ key: `${ns}/${name}`, actions: plan.actions.map((a) => a.type) }, "carrying out a plan");
    try {
      await apply(this.contextFor(observation, now), plan);
      if (minting) metrics.rotations.inc({ result: "success" });
      return undefined;
    } catch (error) {
      const failure = failureOf(error);
      if (minting) metrics.rotations.inc({ result: "failure" });
      const { namespace, name } = observation.snapshot.cc;
      log.warn(
        { key: `${namespace}/${name}`, reason: failure.reason, error: failure.message },
        "could not carry out the plan",
      );
      return failure;
    }
  }

  private contextFor(observation: Observation, now: Date): ApplyContext {
    const { writer, restarts, events } = this.deps;
    const reference = ccReference(observation.snapshot.cc);
    return {
      observation,
      now,
      writer,
      restarts,
      verifyTimeoutMs: this.options.verifyTimeoutMs,
      record: (note) => events.record(reference, note.type, note.reason, note.action, note.message),
    };
  }

  /** Conditions, status and events from the last observation; when to look again. */
  private async report(
    observed: Observation,
    plan: Plan,
    failure: Failure | undefined,
    now: Date,
  ): Promise<Result> {
    const { writer, events, metrics } = this.deps;
    const { snapshot } = observed;
    const { namespace, name } = snapshot.cc;
    const reference = ccReference(snapshot.cc);
    const previous = snapshot.cc.status;

    if (snapshot.cc.deletionTimestamp) {
      if (failure) throw new Error(failure.message);
      // Held by the finalizer (an unreachable issuer): say why the object does not go away.
      if (plan.blocker) {
        events.record(reference, "Warning", plan.blocker.reason, "Delete", plan.blocker.message);
        await writer.writeStatus(
          { namespace, name },
          {
            ...previous,
            conditions: withProgress(
              setCondition(
                previous.conditions,
                {
                  type: "Ready",
                  status: "False",
                  reason: plan.blocker.reason,
                  message: plan.blocker.message,
                },
                snapshot.cc.generation,
                now,
              ),
              snapshot.cc.generation,
              now,
            ),
          },
        );
      }
      return { requeueAfterMs: plan.requeueAfterMs };
    }

    const failed =
      failure !== undefined || (plan.blocker !== undefined && RETRYABLE_BLOCKERS.has(plan.blocker.reason));
    const failedAttempts = failed ? (previous.failedAttempts ?? 0) + 1 : 0;
    const status = computeStatus(snapshot, plan, now, {
      failedAttempts,
      lastFailureTime: failed ? now.toISOString() : previous.lastFailureTime,
      lastError: failure,
    });
    if (plan.blocker)
      events.record(reference, "Warning", plan.blocker.reason, "Reconcile", plan.blocker.message);
    for (const notice of plan.notices)
      events.record(reference, notice.type, notice.reason, "Rollout", notice.message);
    if (failed || !isDeepStrictEqual(comparable(status), comparable(previous)))
      await writer.writeStatus({ namespace, name }, status);
    metrics.observe({ namespace, name, issuerRef: snapshot.cc.spec.issuerRef }, status);

    if (failed) return { failed: true };
    // Restart requests are coalesced elsewhere and need no immediate second look.
    if (plan.actions.some((a) => a.type !== "restart")) return { requeueAfterMs: SETTLE_MS };
    return { requeueAfterMs: plan.requeueAfterMs };
  }
}

/**
 * Status without the fields that change on every write, and as it reads back (no undefined
 * fields), to skip writes that change nothing: key order does not matter to the comparison.
 */
export function comparable(status: Observation["snapshot"]["cc"]["status"]): unknown {
  const { lastFailureTime: _t, conditions, ...rest } = status;
  return JSON.parse(
    JSON.stringify({ ...rest, conditions: (conditions ?? []).map(({ lastTransitionTime: _l, ...c }) => c) }),
  );
}
