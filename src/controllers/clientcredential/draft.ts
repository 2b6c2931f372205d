/**
 * A plan being built by the rules of `decide`: the actions so far, the notices, the times to
 * look again, and what every rule needs to know about the snapshot, computed once.
 */
import type { Action, Blocker, Notice, Plan, RevokeReason, Snapshot } from "./model.ts";
import { type Timing, timingOf } from "./timing.ts";
import { type Classified, classify } from "./versions.ts";

export interface DecideOptions {
  /** How long a deletion waits for an unreachable issuer before the finalizer goes anyway. */
  finalizerTimeoutMs: number;
  /** Restart and Observe: how often consumers are counted again when no rollover is pending. */
  consumerResyncMs: number;
  /**
   * The least time between a rollover and the revocation, whatever `gracePeriod` says: pods
   * created in the second of a switch may have read the old value from a kubelet cache.
   */
  gracePeriodFloorMs: number;
}

/** A rule's verdict: "stop" ends the chain (the plan is complete for this round). */
// biome-ignore lint/suspicious/noConfusingVoidType: a rule that has nothing to say returns nothing.
export type Verdict = "stop" | void;

const REVOKED_EVEN_IN_TARGET: ReadonlySet<RevokeReason> = new Set(["expired", "deleting", "conflict"]);

export class Draft {
  readonly actions: Action[] = [];
  readonly notices: Notice[] = [];
  readonly wakeups: number[] = [];
  blocker: Blocker | undefined;
  /** Look again soon: this round's actions change what the next observation sees. */
  settleNow = false;
  /** Secrets at the issuer that this plan revokes (they free a slot). */
  revoking = 0;

  readonly t: number;
  readonly timing: Timing;
  readonly versions: Classified;
  readonly atIssuer: Set<string>;
  readonly inVersions: Set<string>;

  readonly snapshot: Snapshot;
  readonly options: DecideOptions;

  constructor(snapshot: Snapshot, now: Date, options: DecideOptions) {
    this.snapshot = snapshot;
    this.options = options;
    this.t = now.getTime();
    this.timing = timingOf(snapshot.cc.spec);
    this.versions = classify(snapshot.versions);
    this.atIssuer = new Set((snapshot.issuerSecrets ?? []).map((s) => s.id));
    this.inVersions = new Set(snapshot.versions.map((v) => v.secretId));
  }

  add(action: Action): void {
    this.actions.push(action);
  }

  revoke(secretId: string, versionName: string | undefined, reason: RevokeReason): void {
    // What the target Secret hands out is not revoked while it does (a failed switch is repaired
    // first), unless it expired or the ClientCredential goes.
    const { target } = this.snapshot;
    if (!REVOKED_EVEN_IN_TARGET.has(reason) && target.state === "owned" && target.secretId === secretId)
      return;
    this.actions.push({ type: "revoke", secretId, versionName, reason });
    if (this.atIssuer.has(secretId)) this.revoking++;
  }

  notice(notice: Notice): void {
    this.notices.push(notice);
  }

  wakeAt(time: number): void {
    this.wakeups.push(time);
  }

  block(blocker: Blocker): Verdict {
    this.blocker = blocker;
    return "stop";
  }

  /** Ends the chain with the actions so far; the next look follows at once. */
  settle(): Verdict {
    this.settleNow = true;
    return "stop";
  }

  plan(): Plan {
    const next = this.wakeups.length > 0 ? Math.max(0, Math.min(...this.wakeups) - this.t) : undefined;
    return {
      actions: this.actions,
      blocker: this.blocker,
      requeueAfterMs: this.settleNow ? undefined : next,
      notices: this.notices,
    };
  }
}
