/**
 * `metav1.Condition` helpers, as cert-manager does them: upsert by type, `lastTransitionTime`
 * moves only when the status changes, `observedGeneration` always set.
 */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

export function setCondition(
  existing: readonly Condition[] | undefined,
  next: ConditionInput,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(existing ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const condition: Condition = {
    ...next,
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/**
 * kstatus's abnormal-true conditions (sigs.k8s.io/cli-utils pkg/kstatus, read by Flux's health
 * checks): `Reconciling` while the controller works toward the spec on its own, `Stalled` while
 * it needs something outside it to change. kstatus reads an absent one as False and lets the
 * first True one it meets decide, so at most one is kept, and only while it is True.
 */
export type Progress = Omit<ConditionInput, "type" | "status"> & { type: "Reconciling" | "Stalled" };

/** Sets `progress` True and removes the other abnormal-true condition (both when none). */
export function setProgress(
  existing: readonly Condition[] | undefined,
  progress: Progress | undefined,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const kept = (existing ?? []).filter(
    (c) => (c.type !== "Reconciling" && c.type !== "Stalled") || c.type === progress?.type,
  );
  return progress ? setCondition(kept, { ...progress, status: "True" }, generation, now) : kept;
}
