/**
 * A Secret in Rotor's namespace that Rotor keeps (the signing keys, the token endpoint's CA):
 * read it, write it with compare-and-swap, and replace one that cannot hold what Rotor writes.
 */
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../../api/metadata.ts";
import { isConflict, isNotFound, isStatus } from "../../runtime/kube.ts";

export class KeptSecret {
  private readonly core: CoreV1Api;
  readonly namespace: string;
  readonly name: string;

  constructor(core: CoreV1Api, namespace: string, name: string) {
    this.core = core;
    this.namespace = namespace;
    this.name = name;
  }

  async read(): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name: this.name, namespace: this.namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Like `write`; false when another writer came first (their data is the one to read). */
  async writeUnlessRaced(stored: V1Secret | undefined, data: Record<string, string>): Promise<boolean> {
    try {
      await this.write(stored, data);
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  /**
   * Creates the Secret, or replaces `stored` with `data`. The replace carries `stored`'s
   * resourceVersion: a concurrent writer makes it fail with 409 (the caller reads theirs).
   */
  async write(stored: V1Secret | undefined, data: Record<string, string>): Promise<void> {
    const { name, namespace } = this;
    if (!stored) {
      await this.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name, labels: { [LABEL_MANAGED_BY]: MANAGED_BY } }, data },
      });
      return;
    }
    try {
      await this.core.replaceNamespacedSecret({
        name,
        namespace,
        body: { ...stored, data, stringData: undefined },
      });
    } catch (error) {
      // A Secret that cannot hold the data (immutable, or a type that demands other keys) is
      // deleted (only that exact version: a concurrent writer gets 409) and made anew.
      if (!isStatus(error, 422)) throw error;
      const { uid, resourceVersion } = stored.metadata ?? {};
      await this.core.deleteNamespacedSecret({
        name,
        namespace,
        body: { preconditions: { uid, resourceVersion } },
      });
      await this.write(undefined, data);
    }
  }
}
