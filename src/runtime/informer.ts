/**
 * A supervised informer: a cache of one kind of object kept current by LIST + WATCH.
 *
 * client-node's informer relists on 410 and reconnects quiet watches by itself, but stops for
 * good after any other error (a failed LIST, a 5xx). The supervisor restarts it with capped
 * backoff, never runs two starts at once, relists periodically (so a missed event heals), and
 * gives up — `onFatal`, so that the process exits and Kubernetes restarts it — when the cache
 * has not been healthy for `maxUnhealthyMs`.
 */
import {
  ADD,
  DELETE,
  ERROR,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  UPDATE,
} from "@kubernetes/client-node";
import { backoffDelay } from "./backoff.ts";
import { describeError, type Logger } from "./log.ts";

export interface InformerOptions<T extends KubernetesObject> {
  name: string;
  kc: KubeConfig;
  /** The watch path, e.g. `/api/v1/namespaces/rotor-system/secrets`. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  log: Logger;
  relistEveryMs?: number;
  maxUnhealthyMs?: number;
  onFatal: (reason: string) => void;
}

export type InformerEvent = "add" | "update" | "delete";
type Handler<T> = (object: T, event: InformerEvent) => void;

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly informer: ReturnType<typeof makeInformer<T>>;
  private readonly handlers: Handler<T>[] = [];
  private starting: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** Every error seen, never reset: tells whether one arrived while a start was under way. */
  private errorsSeen = 0;
  private unhealthySince: number | undefined = Date.now();
  private stopped = false;
  private syncedOnce = false;

  private readonly options: InformerOptions<T>;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.informer = makeInformer<T>(options.kc, options.path, options.list, options.labelSelector);
    for (const event of [ADD, UPDATE, DELETE] as const) {
      // Handlers run synchronously on the watch stream: they must only enqueue keys.
      this.informer.on(event, (object) => {
        for (const handler of this.handlers) handler(object, event);
      });
    }
    this.informer.on(ERROR, (error) => this.onError(error));
  }

  onEvent(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  /** True once the first LIST succeeded and the cache is not currently failing. */
  get healthy(): boolean {
    return this.syncedOnce && this.unhealthySince === undefined;
  }

  /** True while the cache is failing (its last LIST or watch was refused or broke): not merely not yet synced. */
  get failing(): boolean {
    return this.unhealthySince !== undefined && this.failures > 0;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const { relistEveryMs = 10 * 60_000, maxUnhealthyMs = 2 * 60_000 } = this.options;
    this.relistTimer = setInterval(() => void this.restart("periodic relist"), relistEveryMs);
    this.relistTimer.unref();
    this.healthTimer = setInterval(() => {
      if (this.unhealthySince !== undefined && Date.now() - this.unhealthySince > maxUnhealthyMs) {
        this.options.onFatal(
          `the ${this.options.name} cache could not be recovered for ${maxUnhealthyMs / 1000}s`,
        );
      }
    }, 5000);
    this.healthTimer.unref();
    try {
      await this.startOnce();
    } catch (error) {
      this.onError(error);
    }
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
    await this.informer.stop();
  }

  private startOnce(): Promise<void> {
    // Guard against two concurrent starts (error storms, relist racing a restart).
    const errorsBefore = this.errorsSeen;
    this.starting ??= this.informer
      .start()
      .then(() => {
        // client-node reports a failed LIST (e.g. 403) as an error event and resolves anyway:
        // that start filled nothing, and the restart onError scheduled tries again.
        if (this.errorsSeen !== errorsBefore) return;
        this.failures = 0;
        this.unhealthySince = undefined;
        this.syncedOnce = true;
      })
      .finally(() => {
        this.starting = undefined;
      });
    return this.starting;
  }

  private async restart(why: string): Promise<void> {
    if (this.stopped || this.starting) return;
    this.options.log.debug({ informer: this.options.name, why }, "restarting informer");
    try {
      await this.informer.stop();
      await this.startOnce();
    } catch (error) {
      this.onError(error);
    }
  }

  private onError(error: unknown): void {
    if (this.stopped) return;
    // stop()/start() report an AbortError of their own: not a failure.
    if (error instanceof Error && error.name === "AbortError") return;
    this.errorsSeen++;
    this.unhealthySince ??= Date.now();
    const delay = backoffDelay({ baseMs: 500, maxMs: 30_000, jitter: "spread" }, this.failures++);
    this.options.log.warn(
      { informer: this.options.name, error: describeError(error), retryMs: delay },
      "informer failed; restarting",
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart("error"), delay);
    this.restartTimer.unref();
  }
}
