import type { ServiceAccountTokenSpec } from '../api/v1alpha1/index.ts';
import { parseDuration } from './durations.ts';

/** cert-manager's default: renew when a third of the lifetime remains. */
export const DEFAULT_RENEW_BEFORE_PERCENTAGE = 33;
/** Jitter is at most this share of the lifetime (and at most MAX_JITTER_MS), always making renewal earlier. */
const JITTER_FRACTION = 0.05;
const MAX_JITTER_MS = 5 * 60_000;

/**
 * When to rotate a token issued at `issuedAt` that expires at `expiresAt` (undefined = never).
 * `random` in [0,1) spreads renewals of tokens created together so they do not all hit the API in one second.
 * Returns undefined when the token never needs rotating.
 */
export function renewalTime(
  spec: Pick<ServiceAccountTokenSpec, 'renewBefore' | 'renewBeforePercentage' | 'rotation'>,
  issuedAt: Date,
  expiresAt: Date | undefined,
  random: number,
): Date | undefined {
  const issued = issuedAt.getTime();
  let due: number | undefined;
  let lifetime: number | undefined;
  if (expiresAt) {
    lifetime = Math.max(0, expiresAt.getTime() - issued);
    const before = spec.renewBefore
      ? Math.min(parseDuration(spec.renewBefore), lifetime)
      : (lifetime * (spec.renewBeforePercentage ?? DEFAULT_RENEW_BEFORE_PERCENTAGE)) / 100;
    due = expiresAt.getTime() - before;
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
  return new Date(Math.max(issued, Math.floor(due - jitter)));
}
