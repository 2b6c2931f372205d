/**
 * The manager's own metrics, for any controller it runs: whether this replica leads, how each
 * reconcile ended, and how many keys wait for a worker. Counters start at 0 for every controller
 * and outcome, so that `rate()` and `increase()` see the first error.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { ReconcileOutcome } from "./controller.ts";
import type { RelistReason } from "./informer.ts";

const OUTCOMES: readonly ReconcileOutcome[] = ["success", "error", "timeout", "cancelled"];

export class ManagerMetrics {
  private readonly registry: Registry;
  private leader: Gauge | undefined;
  private readonly reconciles: Counter<"controller" | "result">;
  private readonly depths = new Map<string, () => number>();
  private readonly relists: Counter<"informer" | "reason">;

  constructor(registry: Registry) {
    this.registry = registry;
    this.reconciles = new Counter({
      name: "rotor_reconcile_total",
      help: "Reconciles by controller and result (success, error, timeout, cancelled).",
      labelNames: ["controller", "result"],
      registers: [registry],
    });
    this.relists = new Counter({
      name: "rotor_informer_relists_total",
      help: "Full LISTs of a cache, by informer and reason (start, expired: a 410 after an API-server restart or compaction, error, periodic).",
      labelNames: ["informer", "reason"],
      registers: [registry],
    });
    const depths = this.depths;
    new Gauge({
      name: "rotor_workqueue_depth",
      help: "Keys waiting for a worker, by controller (0 on a replica that does not lead).",
      labelNames: ["controller"],
      registers: [registry],
      collect() {
        for (const [controller, depth] of depths) this.set({ controller }, depth());
      },
    });
  }

  /** A controller the manager runs: its series exist from the start. */
  controller(name: string, depth: () => number): void {
    for (const result of OUTCOMES) this.reconciles.inc({ controller: name, result }, 0);
    this.depths.set(name, depth);
  }

  relisted(informer: string, reason: RelistReason): void {
    this.relists.inc({ informer, reason });
  }

  reconciled(controller: string, result: ReconcileOutcome): void {
    this.reconciles.inc({ controller, result });
  }

  /**
   * `rotor_leader`, only on a replica that campaigns (runs controllers): a token server leads
   * nothing, and a 0 of its own would read as "no leader" where replicas are summed.
   */
  leading(leads: boolean): void {
    this.leader ??= new Gauge({
      name: "rotor_leader",
      help: "1 while this replica leads (reconciles), 0 while it follows.",
      registers: [this.registry],
    });
    this.leader.set(leads ? 1 : 0);
  }
}
