/** metav1.Condition helpers (apimachinery `meta.SetStatusCondition` semantics). */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase, from a constants file. */
  reason: string;
  message: string;
  /** RFC 3339 (seconds); moves only when `status` flips. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** A condition to set; `lastTransitionTime` is filled in from `now` when the status flips. */
export type NewCondition = Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string };

/** metav1.Time format: RFC 3339 with whole seconds. */
export function formatTime(t: Date | number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Returns a new list with `cond` set (the input is not modified) and whether anything changed.
 * lastTransitionTime is kept unless the status flips (or the condition is new).
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  cond: NewCondition,
  now: Date | number,
): { conditions: Condition[]; changed: boolean } {
  const list = (conditions ?? []).map((c) => ({ ...c }));
  const i = list.findIndex((c) => c.type === cond.type);
  if (i < 0) {
    const added: Condition = { ...cond, lastTransitionTime: cond.lastTransitionTime ?? formatTime(now) };
    return { conditions: [...list, clean(added)], changed: true };
  }
  const existing = list[i]!;
  const next: Condition = { ...existing };
  if (existing.status !== cond.status) {
    next.status = cond.status;
    next.lastTransitionTime = cond.lastTransitionTime ?? formatTime(now);
  }
  next.reason = cond.reason;
  next.message = cond.message;
  next.observedGeneration = cond.observedGeneration;
  const updated = clean(next);
  list[i] = updated;
  return { conditions: list, changed: !jsonEqual(existing, updated) };
}

export function removeCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): { conditions: Condition[]; changed: boolean } {
  const list = (conditions ?? []).filter((c) => c.type !== type).map((c) => ({ ...c }));
  return { conditions: list, changed: list.length !== (conditions ?? []).length };
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'False';
}

/**
 * Whether the desired status differs from the one observed, so a reconciler patches status only when
 * it changed. Compares as JSON: key order and `undefined` fields do not matter.
 */
export function statusNeedsPatch(observed: unknown, desired: unknown): boolean {
  return !jsonEqual(observed ?? {}, desired ?? {});
}

/** Deep equality of two values as they would be serialized to JSON. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
      return sorted;
    }
    return value;
  });
}

function clean(c: Condition): Condition {
  if (c.observedGeneration === undefined) delete c.observedGeneration;
  return c;
}
