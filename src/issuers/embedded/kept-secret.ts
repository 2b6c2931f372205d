/**
 * A Secret in Rotor's namespace that Rotor keeps (the signing keys, the token endpoint's CA):
 * read it, write it with compare-and-swap, replace one that cannot hold what Rotor writes,
 * settle a read-decide-write on one state when replicas race, and report a damaged one (an
 * error log line and a Warning event on the Secret, which say what was wrong, never what it held).
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { LABEL_MANAGED_BY, MANAGED_BY } from "../../api/metadata.ts";
import { retryUntil } from "../../runtime/backoff.ts";
import { EventRecorder } from "../../runtime/events.ts";
import { isConflict, isNotFound, isStatus, makeClient } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";

export interface KeptSecretOptions {
  name: string;
  /** What it holds, for messages ("signing keys"). */
  contents: string;
  log: Logger;
  /** This replica's name, for events. */
  identity: string;
}

export class KeptSecret {
  private readonly core: CoreV1Api;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  readonly namespace: string;
  readonly name: string;
  private readonly contents: string;

  constructor(kc: KubeConfig, namespace: string, options: KeptSecretOptions) {
    this.core = makeClient(kc, CoreV1Api);
    this.events = new EventRecorder(kc, "rotor.dev/rotor", options.identity, options.log);
    this.log = options.log;
    this.namespace = namespace;
    this.name = options.name;
    this.contents = options.contents;
  }

  /**
   * Runs `attempt` (read, decide, write) until it settles: undefined means it lost a race (or,
   * read-only, found nothing usable yet) and reads again. Gives up after a minute.
   */
  async settle(attempt: () => Promise<true | undefined>, readOnly: boolean | undefined): Promise<void> {
    const settled = await retryUntil(attempt, {
      deadlineMs: 60_000,
      backoff: { baseMs: 200, maxMs: 5000, jitter: "full" },
    });
    if (!settled)
      throw new Error(
        readOnly
          ? `the Secret ${this.name} holds no usable ${this.contents}: the controller (--component=controller) creates it`
          : `the Secret ${this.name} kept changing while Rotor wrote it`,
      );
  }

  /** Reports a Secret Rotor found unusable and replaced: `note` says what and how. */
  reportReplaced(stored: V1Secret | undefined, reason: string, note: string, problems: string[]): void {
    this.log.error({ secret: `${this.namespace}/${this.name}`, problems }, note);
    this.events.record(
      {
        apiVersion: "v1",
        kind: "Secret",
        name: this.name,
        namespace: this.namespace,
        uid: stored?.metadata?.uid,
      },
      "Warning",
      reason,
      "Repair",
      note,
    );
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
