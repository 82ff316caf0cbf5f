import type { Condition } from '../api/v1alpha1/index.ts';

/** RFC 3339 with second precision, as metav1.Time serialises (and as kubectl prints). */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Sets a condition the way apimachinery's meta.SetStatusCondition does: lastTransitionTime changes only when the
 * status flips, so re-computing an unchanged condition yields an identical object (and no status write).
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const condition: Condition = {
    ...next,
    lastTransitionTime: previous && previous.status === next.status ? previous.lastTransitionTime : rfc3339(now),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

const CONDITION_FIELDS = ['type', 'status', 'reason', 'message', 'observedGeneration', 'lastTransitionTime'] as const;

/**
 * Field-by-field equality. The API server re-encodes stored objects with sorted keys, so comparing JSON strings
 * would see a difference on every reconcile and send a no-op patch each time.
 */
export function sameConditions(a: Condition[] | undefined, b: Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((condition, i) => CONDITION_FIELDS.every((field) => condition[field] === right[i]![field]));
}
