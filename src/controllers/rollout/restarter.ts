/**
 * Restarts workloads by stamping their pod template, coalesced: requests for one workload within
 * `windowMs` become one stamp, however many of its ClientCredentials rotated, and at most
 * `maxPerNamespace` workloads of a namespace are stamped per window (the rest wait for the next).
 *
 * The stamp is a server-side apply of two pod-template annotations with a field manager of its
 * own, so the workload's other fields — and a GitOps tool's ownership of them — are untouched.
 * Argo Rollouts are restarted through `spec.restartAt` (a merge patch, with the same field manager).
 */
import { AppsV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { isoSeconds } from "../../api/duration.ts";
import { RESTARTED_AT, SECRET_ID } from "../../api/metadata.ts";
import { isNotFound, makeClient, mergePatch, serverSideApply } from "../../runtime/kube.ts";
import { describeError, type Logger } from "../../runtime/log.ts";
import { type WorkloadRef, workloadKey } from "./consumers.ts";

export const RESTART_FIELD_MANAGER = "rotor-restart";

interface Pending {
  namespace: string;
  workload: WorkloadRef;
  secretIds: Set<string>;
  /** Called once the stamp is written, per requester (for its events). */
  notify: Array<(error?: string) => void>;
}

export interface RestarterOptions {
  windowMs: number;
  maxPerNamespace: number;
}

export class Restarter {
  private readonly apps: AppsV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly log: Logger;
  private readonly options: RestarterOptions;
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, log: Logger, options: RestarterOptions) {
    this.apps = makeClient(kc, AppsV1Api);
    this.custom = makeClient(kc, CustomObjectsApi);
    this.log = log;
    this.options = options;
  }

  /** Asks for a restart; returns false when one is already pending for this workload. */
  request(
    namespace: string,
    workload: WorkloadRef,
    secretId: string,
    notify: (error?: string) => void,
  ): boolean {
    const key = `${namespace}/${workloadKey(workload)}`;
    const existing = this.pending.get(key);
    if (existing) {
      const isNew = !existing.secretIds.has(secretId);
      existing.secretIds.add(secretId);
      existing.notify.push(notify);
      return isNew;
    }
    this.pending.set(key, { namespace, workload, secretIds: new Set([secretId]), notify: [notify] });
    this.timer ??= setTimeout(() => void this.flush(), this.options.windowMs);
    return true;
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const perNamespace = new Map<string, number>();
    const batch: Array<[string, Pending]> = [];
    for (const [key, item] of this.pending) {
      const count = perNamespace.get(item.namespace) ?? 0;
      if (count >= this.options.maxPerNamespace) continue;
      perNamespace.set(item.namespace, count + 1);
      batch.push([key, item]);
    }
    for (const [key] of batch) this.pending.delete(key);
    await Promise.all(batch.map(([, item]) => this.stamp(item)));
    if (this.pending.size > 0) this.timer = setTimeout(() => void this.flush(), this.options.windowMs);
  }

  private async stamp(item: Pending): Promise<void> {
    const { namespace, workload } = item;
    const ids = [...item.secretIds].sort().join(",");
    const now = isoSeconds(Date.now());
    let error: string | undefined;
    try {
      if (workload.kind === "Rollout") {
        await this.custom.patchNamespacedCustomObject(
          {
            group: "argoproj.io",
            version: "v1alpha1",
            namespace,
            plural: "rollouts",
            name: workload.name,
            body: { metadata: { annotations: { [SECRET_ID]: ids } }, spec: { restartAt: now } },
            // Named, so that GitOps tools can ignore what it owns (else the client's user agent).
            fieldManager: RESTART_FIELD_MANAGER,
          },
          mergePatch,
        );
      } else {
        const body = {
          apiVersion: "apps/v1",
          kind: workload.kind,
          metadata: { name: workload.name, namespace },
          spec: {
            template: {
              metadata: { annotations: { [SECRET_ID]: ids, [RESTARTED_AT]: now } },
            },
          },
        };
        const request = {
          name: workload.name,
          namespace,
          body,
          fieldManager: RESTART_FIELD_MANAGER,
          force: true,
        };
        if (workload.kind === "Deployment")
          await this.apps.patchNamespacedDeployment(request, serverSideApply);
        else if (workload.kind === "StatefulSet")
          await this.apps.patchNamespacedStatefulSet(request, serverSideApply);
        else await this.apps.patchNamespacedDaemonSet(request, serverSideApply);
      }
      this.log.info({ namespace, workload: workloadKey(workload), secretIds: ids }, "restarted workload");
    } catch (e) {
      if (!isNotFound(e)) error = describeError(e);
      this.log.warn({ namespace, workload: workloadKey(workload), error }, "could not restart workload");
    }
    for (const notify of item.notify) notify(error);
  }
}
