/**
 * Kubernetes Events (events.k8s.io/v1) for every decision. Best effort: a failed event is
 * logged and never fails a reconcile. The same event for the same object within
 * `dedupeWindowMs` is sent once, so a retry loop cannot flood the API server.
 */
import { createHash, randomBytes } from "node:crypto";
import { EventsV1Api, type KubeConfig, V1MicroTime } from "@kubernetes/client-node";
import { makeClient } from "./kube.ts";
import { describeError, type Logger, scrub } from "./log.ts";

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export type EventType = "Normal" | "Warning";

export class EventRecorder {
  private readonly api: EventsV1Api;
  private readonly recent = new Map<string, number>();
  private prunedAt = 0;

  private readonly controller: string;
  private readonly instance: string;
  private readonly log: Logger;
  private readonly dedupeWindowMs: number;

  constructor(
    kc: KubeConfig,
    controller: string,
    instance: string,
    log: Logger,
    dedupeWindowMs = 5 * 60_000,
  ) {
    this.api = makeClient(kc, EventsV1Api);
    this.controller = controller;
    this.instance = instance;
    this.log = log;
    this.dedupeWindowMs = dedupeWindowMs;
  }

  record(regarding: ObjectReference, type: EventType, reason: string, action: string, note: string): void {
    const safeNote = scrub(note).slice(0, 1024);
    // A digest, not the text: one entry per event of every object for the dedupe window.
    const key = createHash("sha256")
      .update(`${regarding.uid ?? regarding.name}/${type}/${reason}/${safeNote}`)
      .digest("base64url")
      .slice(0, 22);
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.dedupeWindowMs) return;
    this.recent.set(key, now);
    // Past 10,000 entries, expired ones are dropped, at most every 10 s (not at every event).
    if (this.recent.size > 10_000 && now - this.prunedAt > 10_000) this.prune(now);
    this.log.info(
      { object: `${regarding.kind}/${regarding.namespace ?? ""}/${regarding.name}`, type, reason },
      safeNote,
    );
    const namespace = regarding.namespace ?? "default";
    this.api
      .createNamespacedEvent({
        namespace,
        body: {
          // client-go's naming: <object>.<unique hex>; a generateName may not end in a dot.
          metadata: {
            name: `${regarding.name}.${now.toString(16)}${randomBytes(4).toString("hex")}`,
            namespace,
          },
          eventTime: new V1MicroTime(),
          regarding,
          reason,
          action,
          note: safeNote,
          type,
          reportingController: this.controller,
          reportingInstance: this.instance,
        },
      })
      .catch((error: unknown) => this.log.debug({ error: describeError(error) }, "could not record event"));
  }

  private prune(now: number): void {
    this.prunedAt = now;
    for (const [key, at] of this.recent) if (now - at >= this.dedupeWindowMs) this.recent.delete(key);
  }
}
