/**
 * Expectations, after controller-runtime's: what this process wrote that its caches have not
 * shown yet. A reconcile reads caches, not the API server; one that would see a cache older than
 * its own last write (the version Secret it just created not there yet) could act twice — mint
 * twice. So every write is noted with the resourceVersion the API server gave it, and a reading
 * waits until the cache holds that version or a later one (or, for a delete, no longer holds the
 * object).
 *
 * An expectation that is not met within `ttlMs` is dropped (a watch that lost the event heals at
 * the next relist; waiting forever would stall the object).
 */
import type { KubernetesObject } from "@kubernetes/client-node";

/** A cache lookup: the object as the cache holds it. */
export type Lookup = (namespace: string, name: string) => KubernetesObject | undefined;

interface Expected {
  namespace: string;
  name: string;
  cache: Lookup;
  /** Undefined: deleted. */
  resourceVersion: string | undefined;
  at: number;
}

/** Whether `seen` is `written` or later. resourceVersions are etcd revisions: compared as numbers when they are. */
export function atLeast(seen: string | undefined, written: string): boolean {
  if (seen === written) return true;
  return /^\d+$/.test(seen ?? "") && /^\d+$/.test(written) && BigInt(seen as string) > BigInt(written);
}

export class Expectations {
  /** owner (whatever the controller keys its work by) → kind/name → what the cache must show. */
  private readonly pending = new Map<string, Map<string, Expected>>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs = 30_000, now: () => number = () => performance.now()) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /**
   * Resolves once the caches show every write for `owner` (true), or after `timeoutMs` (false).
   * Watch events usually arrive within milliseconds; a reconcile waits for them rather than
   * going round the queue again.
   */
  async settled(owner: string, timeoutMs: number, pollMs = 10): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    while (this.unmet(owner) !== undefined) {
      if (this.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return true;
  }

  /**
   * Forgets what the caches show by now, for every owner: a write no reconcile reads back (the
   * last status of a ClientCredential that is not due for months) must not be kept that long.
   */
  sweep(): void {
    for (const owner of this.pending.keys()) this.unmet(owner);
  }

  /**
   * A write for `owner` of an object of `kind` (as `cache` holds it) whose answer carried
   * `resourceVersion` (undefined for a delete).
   */
  wrote(
    owner: string,
    kind: string,
    cache: Lookup,
    object: { namespace: string; name: string },
    resourceVersion: string | undefined,
  ): void {
    const ofOwner = this.pending.get(owner) ?? new Map<string, Expected>();
    this.pending.set(owner, ofOwner);
    ofOwner.set(`${kind}/${object.namespace}/${object.name}`, {
      namespace: object.namespace,
      name: object.name,
      cache,
      resourceVersion,
      at: this.now(),
    });
  }

  /**
   * The first of the writes for `owner` that its cache does not show yet (undefined: none).
   * Writes the caches show are forgotten here.
   */
  unmet(owner: string): string | undefined {
    const ofOwner = this.pending.get(owner);
    if (!ofOwner) return undefined;
    let missing: string | undefined;
    for (const [key, expected] of ofOwner) {
      const seen = expected.cache(expected.namespace, expected.name)?.metadata?.resourceVersion;
      const met =
        expected.resourceVersion === undefined ? seen === undefined : atLeast(seen, expected.resourceVersion);
      if (met || this.now() - expected.at > this.ttlMs) ofOwner.delete(key);
      else missing ??= key;
    }
    if (ofOwner.size === 0) this.pending.delete(owner);
    return missing;
  }
}
