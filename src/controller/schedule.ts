import type { ServiceAccountTokenSpec } from '../api/v1alpha1/index.ts';
import { parseDuration } from './durations.ts';

/** cert-manager's default: renew when a third of the lifetime remains. */
export const DEFAULT_RENEW_BEFORE_PERCENTAGE = 33;
/**
 * When renewBefore is not shorter than the lifetime the credentials API actually granted, renew at this fraction of
 * the granted lifetime instead (cert-manager's rule), so a short upstream lifetime can never make a mint loop.
 */
export const SHORT_LIFETIME_RENEW_FRACTION = 2 / 3;
/** No renewal sooner than this after an issue, whatever the spec or the upstream says: mints stay bounded. */
export const MIN_RENEWAL_INTERVAL_MS = 10_000;
/** Jitter is at most this share of the lifetime (and at most MAX_JITTER_MS), always making renewal earlier. */
const JITTER_FRACTION = 0.05;
const MAX_JITTER_MS = 5 * 60_000;

type ScheduleSpec = Pick<ServiceAccountTokenSpec, 'renewBefore' | 'renewBeforePercentage' | 'rotation'>;

/** True when renewBefore does not fit in the lifetime the credentials API granted (so the fallback applies). */
export function renewBeforeExceedsLifetime(spec: ScheduleSpec, issuedAt: Date, expiresAt: Date | undefined): boolean {
  if (!expiresAt || !spec.renewBefore) return false;
  return parseDuration(spec.renewBefore) >= expiresAt.getTime() - issuedAt.getTime();
}

/**
 * When to rotate a token issued at `issuedAt` that expires at `expiresAt` (undefined = never).
 * `random` in [0,1) spreads renewals of tokens created together so they do not all hit the API in one second.
 * Returns undefined when the token never needs rotating. Never earlier than MIN_RENEWAL_INTERVAL_MS after issue.
 */
export function renewalTime(
  spec: ScheduleSpec,
  issuedAt: Date,
  expiresAt: Date | undefined,
  random: number,
): Date | undefined {
  const issued = issuedAt.getTime();
  let due: number | undefined;
  let lifetime: number | undefined;
  if (expiresAt) {
    lifetime = Math.max(0, expiresAt.getTime() - issued);
    if (renewBeforeExceedsLifetime(spec, issuedAt, expiresAt)) {
      due = issued + lifetime * SHORT_LIFETIME_RENEW_FRACTION;
    } else {
      const before = spec.renewBefore
        ? parseDuration(spec.renewBefore)
        : (lifetime * (spec.renewBeforePercentage ?? DEFAULT_RENEW_BEFORE_PERCENTAGE)) / 100;
      due = expiresAt.getTime() - before;
    }
  }
  if (spec.rotation?.every) {
    const every = parseDuration(spec.rotation.every);
    const scheduled = issued + every;
    if (due === undefined || scheduled < due) {
      due = scheduled;
      lifetime = every;
    }
  }
  if (due === undefined || lifetime === undefined) return undefined;
  const jitter = Math.min(lifetime * JITTER_FRACTION, MAX_JITTER_MS) * random;
  return new Date(Math.max(issued + MIN_RENEWAL_INTERVAL_MS, Math.floor(due - jitter)));
}
