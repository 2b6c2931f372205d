/**
 * One watch stream over a collection (list, then watch; resumed where it ended, relisted on
 * 410 Gone, through API server restarts): the bench sees every ClientCredential change without
 * polling each object.
 */
import type { BenchClient, KubeObject, WatchEvent } from "./kube.ts";

export type Listener = (object: KubeObject, type: WatchEvent["type"]) => void;

export class Watcher {
  readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<Listener>();
  private readonly abort = new AbortController();
  private resourceVersion = "";
  private running: Promise<void> | undefined;

  /** `path` is a collection, e.g. /apis/rotor.dev/v1alpha1/namespaces/bench/clientcredentials. */
  private readonly client: BenchClient;
  private readonly path: string;

  constructor(client: BenchClient, path: string) {
    this.client = client;
    this.path = path;
  }

  async start(): Promise<void> {
    await this.list();
    this.running = this.loop();
  }

  /** Calls `listener` on every change from now on; returns a function that stops that. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** Lists afresh; after a 410 the listeners hear of every object again (changes in the gap). */
  private async list(notify = false): Promise<void> {
    const list = await this.client.get<{ metadata: { resourceVersion: string }; items: KubeObject[] }>(
      this.path,
    );
    this.objects.clear();
    for (const item of list.items) this.objects.set(item.metadata.name, item);
    this.resourceVersion = list.metadata.resourceVersion;
    if (notify)
      for (const item of list.items) for (const listener of this.listeners) listener(item, "MODIFIED");
  }

  private async loop(): Promise<void> {
    const separator = this.path.includes("?") ? "&" : "?";
    let gone = false;
    let failing = false;
    while (!this.abort.signal.aborted) {
      try {
        // Relisting can fail too while the API server restarts: tried again after a pause.
        if (gone) await this.list(true);
        gone = false;
        await this.client.stream(
          `${this.path}${separator}watch=1&allowWatchBookmarks=true&resourceVersion=${this.resourceVersion}`,
          this.abort.signal,
          (event) => {
            failing = false;
            if (event.type === "ERROR") {
              gone = event.object.code === 410;
              return;
            }
            this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
            if (event.type === "BOOKMARK") return;
            if (event.type === "DELETED") this.objects.delete(event.object.metadata.name);
            else this.objects.set(event.object.metadata.name, event.object);
            for (const listener of this.listeners) listener(event.object, event.type);
          },
        );
      } catch (error) {
        // Stopped, or the bench closed its client on the way out.
        const code = (error as { code?: string | number }).code;
        if (this.abort.signal.aborted || code === "UND_ERR_DESTROYED") return;
        // A restarted API server answers a watch from an older resourceVersion with 410 itself.
        if (code === 410) gone = true;
        // Said once per outage, not at every attempt.
        else if (!failing)
          process.stderr.write(`watch ${this.path} ended: ${(error as Error).message}; resuming\n`);
        failing = code !== 410;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}
