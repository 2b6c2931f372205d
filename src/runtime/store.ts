/**
 * An informer's store: objects by `namespace/name`, with indexes kept current on every change
 * ("the objects with this label" without a scan).
 */
import type { KubernetesObject } from "@kubernetes/client-node";

export const keyOf = (object: KubernetesObject) =>
  object.metadata?.namespace
    ? `${object.metadata.namespace}/${object.metadata.name}`
    : `${object.metadata?.name}`;

export class IndexedStore<T extends KubernetesObject> {
  private objects = new Map<string, T>();
  private readonly indexers = new Map<string, (object: T) => readonly string[]>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  addIndex(name: string, valuesOf: (object: T) => readonly string[]): void {
    this.indexers.set(name, valuesOf);
    this.indexes.set(name, new Map());
    for (const [key, object] of this.objects) this.indexAdd(key, object);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.get(value);
    return keys ? [...keys].flatMap((key) => this.objects.get(key) ?? []) : [];
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  get size(): number {
    return this.objects.size;
  }

  /** Stores the object; returns the one it replaced. */
  set(object: T): T | undefined {
    const key = keyOf(object);
    const old = this.objects.get(key);
    if (old) this.indexRemove(key, old);
    this.objects.set(key, object);
    this.indexAdd(key, object);
    return old;
  }

  /** Removes the object at `key`; returns it. */
  delete(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.indexRemove(key, old);
    this.objects.delete(key);
    return old;
  }

  /** Replaces every object (a relist); returns the previous contents by key. */
  replace(objects: Map<string, T>): Map<string, T> {
    const previous = this.objects;
    this.objects = objects;
    for (const index of this.indexes.values()) index.clear();
    for (const [key, object] of objects) this.indexAdd(key, object);
    return previous;
  }

  private indexAdd(key: string, object: T): void {
    for (const [name, valuesOf] of this.indexers) {
      const index = this.indexes.get(name) as Map<string, Set<string>>;
      for (const value of valuesOf(object)) {
        const keys = index.get(value) ?? new Set<string>();
        index.set(value, keys.add(key));
      }
    }
  }

  private indexRemove(key: string, object: T): void {
    for (const [name, valuesOf] of this.indexers) {
      const index = this.indexes.get(name) as Map<string, Set<string>>;
      for (const value of valuesOf(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}
