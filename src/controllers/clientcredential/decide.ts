/**
 * The ClientCredential policy: a pure function from what Rotor observed to what it should do.
 * No I/O and no clock of its own (`now` is given). It is a chain of named rules, each small and
 * tested on its own; a rule may add actions, notices and times to look again, block (say why
 * nothing can be done) or stop the chain.
 */
import { decideDeletion } from "./deletion.ts";
import { type DecideOptions, Draft, type Verdict } from "./draft.ts";
import {
  clientHeldElsewhere,
  clientOwnedByAnother,
  foreignVersionsIgnored,
  issuerUnusable,
  namedClientMissing,
  targetNotOurs,
} from "./guards.ts";
import type { Plan, Snapshot } from "./model.ts";
import { bootstrapHandover, rollover } from "./rollover.ts";
import {
  abandoned,
  claimUnrecordedClient,
  clientMissing,
  lostVersions,
  mintDue,
  orphans,
  pendingSwitch,
  staleTargets,
  targetDrift,
} from "./rules.ts";

export type { DecideOptions } from "./draft.ts";

const finalizer = (d: Draft): Verdict => {
  if (!d.snapshot.cc.hasFinalizer) d.add({ type: "addFinalizer" });
};

/** The rules, in order. */
export const RULES: ReadonlyArray<(d: Draft) => Verdict> = [
  finalizer,
  clientHeldElsewhere,
  clientOwnedByAnother,
  issuerUnusable,
  targetNotOurs,
  foreignVersionsIgnored,
  namedClientMissing,
  clientMissing,
  claimUnrecordedClient,
  lostVersions,
  orphans,
  abandoned,
  rollover,
  bootstrapHandover,
  pendingSwitch,
  staleTargets,
  targetDrift,
  mintDue,
];

export function decide(snapshot: Snapshot, now: Date, options: DecideOptions): Plan {
  if (snapshot.cc.deletionTimestamp) return decideDeletion(snapshot, now, options);
  const draft = new Draft(snapshot, now, options);
  for (const rule of RULES) if (rule(draft) === "stop") break;
  return draft.plan();
}
