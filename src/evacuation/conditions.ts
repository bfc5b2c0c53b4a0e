// metav1.Condition handling, as apimachinery's meta.SetStatusCondition: lastTransitionTime moves only
// when the status flips.
import type { Condition } from '../api/v1alpha1/types.ts';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** A new list with `c` set; the input is not modified. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  c: ConditionInput,
  now: string,
  observedGeneration: number | undefined,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    lastTransitionTime: old !== undefined && old.status === c.status ? old.lastTransitionTime : now,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export const findCondition = (
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

/** RFC 3339 in whole seconds, as Kubernetes serializes metav1.Time. */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
