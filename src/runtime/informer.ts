/**
 * A supervised informer: a cache of one kind of object kept current by LIST + WATCH.
 *
 * Written for Rotor rather than taken from client-node, for what a cache of thousands of objects
 * needs: every object goes through `transform` before it is kept (Rotor keeps only the fields it
 * reads, never a Secret's values), LISTs are paged, all requests share Rotor's one connection
 * pool, a relist that finds an object unchanged (same resourceVersion) wakes nobody, and indexes
 * answer "the objects with this label" without a scan.
 *
 * The supervisor: a watch that ends, breaks or is refused is resumed from the last
 * resourceVersion seen, with backoff capped at 5 s (so a cache is current again within seconds
 * of the API server's return); one that expired (410 Gone, as after every API-server restart)
 * relists; a failed LIST restarts LIST + WATCH, never two at once. Meanwhile the cache serves
 * what it holds. A periodic relist heals a missed event. The informer gives up — `onFatal`, so
 * that Kubernetes restarts the process — when it has not been healthy for `maxUnhealthyMs`.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { backoffDelay, sleep } from "./backoff.ts";
import { Gone, listCollection, type WatchEvent, WatchStalled, watchCollection } from "./listwatch.ts";
import { describeError, type Logger } from "./log.ts";
import { IndexedStore, keyOf } from "./store.ts";
import { trimObject } from "./trim.ts";

/** Why an informer LISTs again: its first LIST, a 410, a failure, or the periodic relist. */
export type RelistReason = "start" | "expired" | "error" | "periodic";

/** What the manager watches over every informer with. */
export interface Supervision {
  onFatal: (reason: string) => void;
  maxUnhealthyMs?: number;
  onRelist?: (informer: string, reason: RelistReason) => void;
  /** The cache is current again after it failed (the API server is back). */
  onRecovered?: (informer: string) => void;
}

export interface InformerOptions<T extends KubernetesObject> extends Supervision {
  name: string;
  kc: KubeConfig;
  /** The collection's path, e.g. `/api/v1/namespaces/rotor-system/secrets`. */
  path: string;
  labelSelector?: string;
  /** What is kept of each object (default `trimObject`). Must keep `metadata`. */
  transform?: (object: KubernetesObject) => T;
  log: Logger;
  relistEveryMs?: number;
}

export type InformerEvent = "add" | "update" | "delete";
/** `old`: the object as the cache held it before an update. */
type Handler<T> = (object: T, event: InformerEvent, old?: T) => void;

/** Between LISTs that failed: at most 10 s, so a cache is current soon after the API's return. */
const INFORMER_BACKOFF = { baseMs: 500, maxMs: 10_000, jitter: "spread" } as const;
/**
 * Between tries to resume a watch: at most 5 s. A refused connection costs the API server
 * nothing, and the sooner a watch is back the shorter a follower's cache lags the leader's writes
 * (a revocation, say) after the API server's return.
 */
const WATCH_BACKOFF = { baseMs: 250, maxMs: 5_000, jitter: "spread" } as const;
/** A watch failing this long relists instead (see watchLoop). */
const WATCH_FAILING_RELIST_MS = 60_000;

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly store = new IndexedStore<T>();
  private readonly handlers: Handler<T>[] = [];
  private readonly transform: (object: KubernetesObject) => T;
  private resourceVersion = "";
  private run: AbortController | undefined;
  private starting: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private unhealthySince: number | undefined = Date.now();
  private stopped = false;
  private syncedOnce = false;

  private readonly options: InformerOptions<T>;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.transform = options.transform ?? trimObject;
  }

  /** Handlers run synchronously on the watch stream: they must only enqueue keys. */
  onEvent(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  /** Adds an index (before start): `byIndex(name, value)` finds the objects `valuesOf` maps to value. */
  addIndex(name: string, valuesOf: (object: T) => readonly string[]): void {
    this.store.addIndex(name, valuesOf);
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): readonly T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  get size(): number {
    return this.store.size;
  }

  /** True once the first LIST succeeded and the cache is not currently failing. */
  get healthy(): boolean {
    return this.syncedOnce && this.unhealthySince === undefined;
  }

  /** True once the first LIST succeeded, whatever happened since. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  /** True while the cache is failing (its last LIST or watch was refused or broke): not merely not yet synced. */
  get failing(): boolean {
    return this.unhealthySince !== undefined && this.failures > 0;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const { relistEveryMs = 10 * 60_000, maxUnhealthyMs = 2 * 60_000 } = this.options;
    this.relistTimer = setInterval(() => void this.restart("periodic"), relistEveryMs);
    this.relistTimer.unref();
    this.healthTimer = setInterval(() => {
      if (this.unhealthySince !== undefined && Date.now() - this.unhealthySince > maxUnhealthyMs) {
        this.options.onFatal(
          `the ${this.options.name} cache could not be recovered for ${maxUnhealthyMs / 1000}s`,
        );
      }
    }, 5000);
    this.healthTimer.unref();
    await this.startOnce("start");
  }

  /** Resolves once the cache is filled; rejects after `timeoutMs`. */
  async waitForSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.healthy) {
      if (Date.now() > deadline)
        throw new Error(`the ${this.options.name} cache did not sync in ${timeoutMs / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.relistTimer);
    clearInterval(this.healthTimer);
    this.run?.abort();
    await this.starting?.catch(() => undefined);
  }

  /** LIST, then WATCH in the background. Never two at once (error storms, relist racing a restart). */
  private startOnce(why: RelistReason): Promise<void> {
    this.starting ??= (async () => {
      this.run?.abort();
      const run = new AbortController();
      this.run = run;
      try {
        await this.relist(run.signal, why);
      } catch (error) {
        if (!run.signal.aborted) this.onError(error);
        return;
      }
      this.failures = 0;
      this.recovered();
      this.syncedOnce = true;
      void this.watchLoop(run.signal);
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async restart(why: RelistReason): Promise<void> {
    if (this.stopped || this.starting) return;
    this.options.log.debug({ informer: this.options.name, why }, "restarting informer");
    await this.startOnce(why);
  }

  private recovered(): void {
    if (this.unhealthySince === undefined) return;
    this.unhealthySince = undefined;
    if (this.syncedOnce) this.options.onRecovered?.(this.options.name);
  }

  private onError(error: unknown): void {
    if (this.stopped) return;
    this.unhealthySince ??= Date.now();
    const delay = backoffDelay(INFORMER_BACKOFF, this.failures++);
    this.options.log.warn(
      { informer: this.options.name, error: describeError(error), retryMs: delay },
      "informer failed; restarting",
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart("error"), delay);
    this.restartTimer.unref();
  }

  /**
   * Resumes the watch whenever it ends. A watch that broke or was refused (the API server
   * restarting, say) is resumed from the last resourceVersion after a backoff, keeping the
   * cache: most outages need no relist. One that expired (410 Gone) relists, and so does one
   * that stalled or has failed for a minute while LISTs may still work (a proxy that holds
   * watches): the cache then stays current by relisting. A relist that fails restarts LIST +
   * WATCH.
   */
  private async watchLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let relist: RelistReason | undefined;
      try {
        await this.watch(signal);
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        this.unhealthySince ??= Date.now();
        if (error instanceof Gone) relist = "expired";
        // A stalled watch has cost its 30 s already; one failing for a minute will not come back soon.
        else if (error instanceof WatchStalled || Date.now() - this.unhealthySince > WATCH_FAILING_RELIST_MS)
          relist = "error";
        else {
          const retryMs = backoffDelay(WATCH_BACKOFF, failures++);
          this.options.log.warn(
            { informer: this.options.name, error: describeError(error), retryMs },
            "watch failed; resuming it from the last resourceVersion",
          );
          await sleep(retryMs, signal).catch(() => undefined);
        }
      }
      if (!relist) continue;
      try {
        await this.relist(signal, relist);
        failures = 0;
        this.recovered();
      } catch (relistError) {
        if (!signal.aborted) this.onError(relistError);
        return;
      }
    }
  }

  /** A paged LIST that replaces the store; events only for what changed. */
  private async relist(signal: AbortSignal, why: RelistReason): Promise<void> {
    this.options.onRelist?.(this.options.name, why);
    const fresh = new Map<string, T>();
    const { kc, path, labelSelector } = this.options;
    const list = listCollection(kc, path, labelSelector, signal);
    let page = await list.next();
    for (; !page.done; page = await list.next())
      for (const item of page.value) fresh.set(keyOf(item), this.transform(item));
    const resourceVersion = page.value;
    if (signal.aborted) return;
    const previous = this.store.replace(fresh);
    this.resourceVersion = resourceVersion;
    for (const [key, object] of fresh) {
      const old = previous.get(key);
      if (!old) this.emit(object, "add");
      else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion)
        this.emit(object, "update");
    }
    for (const [key, object] of previous) if (!fresh.has(key)) this.emit(object, "delete");
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const { kc, path, labelSelector } = this.options;
    const from = { labelSelector, resourceVersion: this.resourceVersion };
    // Current again once answered: the watch delivers what changed since.
    for await (const event of watchCollection(kc, path, from, signal, () => this.recovered()))
      this.apply(event);
  }

  private apply(event: WatchEvent): void {
    const { type, object } = event;
    const resourceVersion = object.metadata?.resourceVersion;
    if (resourceVersion) this.resourceVersion = resourceVersion;
    if (type === "BOOKMARK") return;
    if (type === "DELETED") {
      const old = this.store.delete(keyOf(object));
      this.emit(old ?? this.transform(object), "delete");
      return;
    }
    const kept = this.transform(object);
    const old = this.store.set(kept);
    this.emit(kept, old ? "update" : "add", old);
  }

  private emit(object: T, event: InformerEvent, old?: T): void {
    for (const handler of this.handlers) handler(object, event, old);
  }
}
