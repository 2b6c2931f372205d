/**
 * Apply: carries out a plan, action by action, in the order `decide` chose. See `rotation.ts`
 * for the crash-safe protocol a new secret goes through, `actions.ts` for what each action does.
 */
import { throwIfCancelled } from "../../../runtime/scope.ts";
import type { Action, Plan } from "../model.ts";
import { handlers } from "./actions.ts";
import type { ApplyContext } from "./context.ts";

export type { ApplyContext, RestartQueue } from "./context.ts";
export { ApplyError, type Failure, failureOf } from "./errors.ts";
export { type CredentialWriter, KubeWriter } from "./writer.ts";

export async function apply(ctx: ApplyContext, plan: Plan): Promise<void> {
  for (const action of plan.actions) {
    // Between actions: this replica may have stopped leading, or the reconcile run out of time.
    throwIfCancelled();
    await run(ctx, action);
  }
}

function run<T extends Action["type"]>(
  ctx: ApplyContext,
  action: Extract<Action, { type: T }>,
): Promise<void> {
  return (handlers[action.type] as (ctx: ApplyContext, action: Action) => Promise<void>)(ctx, action);
}
