/**
 * The manager: what every controller needs around it, in one place, after controller-runtime's
 * Manager. It owns
 * - the caches (informers and the like): started together; Rotor is ready once all have synced,
 *   and stays ready through an API-server outage (it serves from them) until one has failed for
 *   `maxApiOutageMs`: then it exits, for Kubernetes to restart it;
 * - watches: each controller declares which informer events become which of its keys;
 * - leadership: controllers run only during a leader term; when a term ends they stop taking
 *   keys, their in-flight reconciles are cancelled (see controller.ts), and the replica campaigns
 *   again once they have settled — it keeps serving its HTTP endpoints as a follower;
 * - shutdown, in order: stop taking keys, let in-flight reconciles finish, and only then give
 *   the Lease up; if they do not finish in time they are cancelled and the Lease is left to
 *   expire, so that no successor starts while a write of ours may still be on its way.
 */
import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { Controller, type ControllerOptions } from "./controller.ts";
import {
  type InformerEvent,
  type InformerOptions,
  SupervisedInformer,
  type Supervision,
} from "./informer.ts";
import { type LeaderElector, LeaderTerm } from "./leader.ts";
import type { Logger } from "./log.ts";
import { ManagerMetrics } from "./metrics.ts";

/** A cache that must be filled before Rotor is ready (an informer, the issuer's registry). */
export interface Cache {
  start(): Promise<void>;
  waitForSync(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Which events of one informer become which keys of a controller. */
export interface Watch {
  subscribe(enqueue: (key: string) => void): void;
  /** Every cached object's keys, for a controller that starts (a new term sees everything). */
  replay(enqueue: (key: string) => void): void;
}

type Keys = string | undefined | Iterable<string>;

/** Which informer events wake a controller; `old` is the object before an update. */
export type Predicate<T> = (object: T, event: InformerEvent, old?: T) => boolean;

export function watch<T extends KubernetesObject>(
  informer: SupervisedInformer<T>,
  keysOf: (object: T) => Keys,
  when: Predicate<T> = () => true,
): Watch {
  const each = (keys: Keys, enqueue: (key: string) => void) => {
    if (typeof keys === "string") enqueue(keys);
    else for (const key of keys ?? []) enqueue(key);
  };
  return {
    subscribe: (enqueue) =>
      informer.onEvent((object, event, old) => {
        if (when(object, event, old)) each(keysOf(object), enqueue);
      }),
    replay: (enqueue) => {
      for (const object of informer.list()) each(keysOf(object), enqueue);
    },
  };
}

/** `namespace/name`, or `name` for a cluster-scoped object. */
export const objectKey = (object: KubernetesObject): string =>
  object.metadata?.namespace
    ? `${object.metadata.namespace}/${object.metadata.name}`
    : `${object.metadata?.name}`;

/** The key of an object's controlling owner of this kind (same namespace). */
export const ownerKey =
  (kind: string) =>
  (object: KubernetesObject): string | undefined => {
    const owner = object.metadata?.ownerReferences?.find((ref) => ref.controller && ref.kind === kind);
    return owner && `${object.metadata?.namespace}/${owner.name}`;
  };

/**
 * Passes adds, deletes and updates that change `metadata.generation` (the spec): a controller's
 * own status writes would otherwise wake it again, and that reconcile the next.
 */
export const generationChanged: Predicate<KubernetesObject> = (object, event, old) =>
  event !== "update" || old?.metadata?.generation !== object.metadata?.generation;

/**
 * Passes every change but one of status alone: the spec, and the metadata a controller acts on
 * (annotations, labels, finalizers, deletion). Without it, a reconcile that writes status —
 * a failure it reports, say — would wake itself at once, past its backoff.
 */
export const notStatusOnly: Predicate<KubernetesObject> = (object, event, old) => {
  if (event !== "update" || !old) return true;
  const [a, b] = [old.metadata ?? {}, object.metadata ?? {}];
  return (
    a.generation !== b.generation ||
    String(a.deletionTimestamp) !== String(b.deletionTimestamp) ||
    !isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {}) ||
    !isDeepStrictEqual(a.labels ?? {}, b.labels ?? {}) ||
    !isDeepStrictEqual(a.finalizers ?? [], b.finalizers ?? [])
  );
};

export interface ManagerOptions {
  log: Logger;
  registry: Registry;
  /** Without one, this replica leads from the start (a single replica). */
  elector?: LeaderElector;
  reconcileTimeoutMs: number;
  /** How long in-flight reconciles may take to finish when leadership ends or Rotor stops. */
  shutdownTimeoutMs: number;
  /** How long a cache may fail (the API unreachable) — or take to fill at start — before Rotor exits. */
  maxApiOutageMs: number;
}

export class Manager {
  private readonly caches: Cache[] = [];
  /** Started with the others, but neither awaited nor part of readiness (see `informer`). */
  private readonly optionalCaches: Cache[] = [];
  private readonly controllers: Controller[] = [];
  /** Each controller's watches, replayed when a term starts. */
  private readonly replays = new Map<Controller, Watch[]>();
  private readonly metrics: ManagerMetrics;
  /** Called when a term ends, and again once its reconciles have settled. */
  private readonly termEndListeners: Array<() => void> = [];
  private synced = false;
  private stopping: Promise<void> | undefined;
  private term: LeaderTerm | undefined;
  private readonly options: ManagerOptions;

  constructor(options: ManagerOptions) {
    this.options = options;
    this.metrics = new ManagerMetrics(options.registry);
  }

  /** Logs and exits non-zero, so that Kubernetes restarts Rotor (an unrecoverable cache). */
  readonly fatal = (reason: string): never => {
    this.options.log.fatal({ reason }, "exiting so that Kubernetes restarts Rotor");
    process.exit(1);
  };

  /** How every informer is watched over (the manager's own, and any built outside it). */
  get supervision(): Required<Supervision> {
    return {
      onFatal: this.fatal,
      maxUnhealthyMs: this.options.maxApiOutageMs,
      onRelist: (informer, reason) => this.metrics.relisted(informer, reason),
      onRecovered: (informer) => {
        this.options.log.info({ informer }, "cache current again; retrying failed reconciles now");
        for (const controller of this.controllers) controller.retryBackedOff();
      },
    };
  }

  /**
   * True once every cache has synced, until Rotor stops. A cache that fails later (the API
   * server restarting) keeps serving what it holds — the token endpoint answers from it — so a
   * replica stays ready; past `maxApiOutageMs` it exits instead.
   */
  get ready(): boolean {
    return this.synced && !this.stopping;
  }

  cache(cache: Cache): void {
    this.caches.push(cache);
  }

  /**
   * `optional`: a cache Rotor can work without (one namespace's, which a RoleBinding may not
   * grant): it never holds up readiness and never ends the process; whoever uses it asks
   * `healthy` first.
   */
  informer<T extends KubernetesObject>(
    options: Omit<InformerOptions<T>, "log" | keyof Supervision>,
    { optional = false } = {},
  ): SupervisedInformer<T> {
    const informer = new SupervisedInformer<T>({
      ...options,
      log: this.options.log,
      ...this.supervision,
      ...(optional ? { maxUnhealthyMs: Number.POSITIVE_INFINITY } : {}),
    });
    if (optional) this.optionalCaches.push(informer);
    else this.cache(informer);
    return informer;
  }

  controller(
    options: Omit<ControllerOptions, "log" | "reconcileTimeoutMs"> & { watches: Watch[] },
  ): Controller {
    const { watches, onReconciled, ...rest } = options;
    const controller = new Controller({
      ...rest,
      log: this.options.log,
      reconcileTimeoutMs: this.options.reconcileTimeoutMs,
      onReconciled: (seconds, outcome) => {
        this.metrics.reconciled(options.name, outcome);
        onReconciled?.(seconds, outcome);
      },
    });
    this.metrics.controller(options.name, () => controller.depth);
    for (const w of watches) w.subscribe((key) => controller.enqueue(key));
    this.controllers.push(controller);
    this.replays.set(controller, watches);
    return controller;
  }

  /**
   * Called when a leader term ends, and again once its reconciles have settled: what only the
   * leader reports (per-object metrics) goes, so that followers never show stale values.
   */
  onTermEnd(listener: () => void): void {
    this.termEndListeners.push(listener);
  }

  /** Fills the caches, then leads (or campaigns to). Resolves once ready. */
  async start(): Promise<void> {
    const { maxApiOutageMs, elector } = this.options;
    await Promise.all([...this.caches, ...this.optionalCaches].map((cache) => cache.start()));
    await Promise.all(this.caches.map((cache) => cache.waitForSync(maxApiOutageMs)));
    this.synced = true;
    if (this.controllers.length > 0) this.metrics.leading(false);
    if (elector) elector.run({ started: (term) => this.lead(term), stopped: () => this.stepDown() });
    // Without controllers (the token server) there is nothing to lead.
    else if (this.controllers.length > 0)
      this.lead(new LeaderTerm(Number.POSITIVE_INFINITY, () => performance.now()));
  }

  /** Stops in order (see the header); resolves when done. */
  shutdown(why: string): Promise<void> {
    this.stopping ??= (async () => {
      const { log, elector, shutdownTimeoutMs } = this.options;
      log.info({ why }, "shutting down: no new work, finishing in-flight reconciles");
      for (const controller of this.controllers) controller.stop();
      const finished = await this.idle(shutdownTimeoutMs);
      if (finished) await elector?.release();
      else {
        log.warn("in-flight reconciles did not finish in time: cancelled; the Lease is left to expire");
        await elector?.stop();
        this.term?.end("Rotor is shutting down");
      }
      await Promise.allSettled([...this.caches, ...this.optionalCaches].map((cache) => cache.stop()));
    })();
    return this.stopping;
  }

  private lead(term: LeaderTerm): void {
    if (this.stopping) {
      term.end("Rotor is shutting down");
      return;
    }
    this.term = term;
    this.metrics.leading(true);
    for (const controller of this.controllers) controller.start(term);
    for (const controller of this.controllers)
      for (const w of this.replays.get(controller) ?? []) w.replay((key) => controller.enqueue(key));
    term.signal.addEventListener(
      "abort",
      () => {
        this.metrics.leading(false);
        for (const controller of this.controllers) controller.stop();
        for (const listener of this.termEndListeners) listener();
      },
      { once: true },
    );
    this.options.log.info("reconciling");
  }

  /** After a term ended: wait (bounded) for its reconciles to settle before campaigning again. */
  private async stepDown(): Promise<void> {
    if (!(await this.idle(this.options.shutdownTimeoutMs)))
      this.options.log.warn(
        "reconciles of the ended term are still running; their Kubernetes requests are refused",
      );
    for (const listener of this.termEndListeners) listener();
  }

  private async idle(timeoutMs: number): Promise<boolean> {
    const results = await Promise.all(this.controllers.map((controller) => controller.idle(timeoutMs)));
    return results.every(Boolean);
  }
}
