import type { ServiceAccountTokenSpec } from '../api/v1alpha1/index.ts';
import { parseDuration } from './durations.ts';
import { nextInWindow, type WindowSpec } from './renewal-windows.ts';

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

/**
 * Renewal windows may postpone a renewal until this share of the token's lifetime remains, and no further: half the
 * buffer cert-manager's default (renew when a third remains) keeps for retries. A token whose next window opens later
 * is renewed outside the windows rather than left to expire.
 */
export const WINDOW_EXPIRY_MARGIN_FRACTION = 1 / 6;
/** A renewal moved to a window opening is spread over at most this long (and a quarter of the window). */
const WINDOW_SPREAD_MS = 5 * 60_000;

type ScheduleSpec = Pick<ServiceAccountTokenSpec, 'renewBefore' | 'renewBeforePercentage' | 'rotation'> & {
  renewal?: { windows?: WindowSpec[] | undefined } | undefined;
};

/** The latest a renewal window may postpone the renewal of a token issued at `issuedAt` that expires at `expiresAt`. */
export function windowDeadline(issuedAt: Date, expiresAt: Date | undefined): number {
  if (!expiresAt) return Number.POSITIVE_INFINITY;
  const lifetime = Math.max(0, expiresAt.getTime() - issuedAt.getTime());
  return expiresAt.getTime() - lifetime * WINDOW_EXPIRY_MARGIN_FRACTION;
}

/** True when renewBefore does not fit in the lifetime the credentials API granted (so the fallback applies). */
export function renewBeforeExceedsLifetime(spec: ScheduleSpec, issuedAt: Date, expiresAt: Date | undefined): boolean {
  if (!expiresAt || !spec.renewBefore) return false;
  return parseDuration(spec.renewBefore) >= expiresAt.getTime() - issuedAt.getTime();
}

/**
 * When to rotate a token issued at `issuedAt` that expires at `expiresAt` (undefined = never).
 * `random` in [0,1) spreads renewals of tokens created together so they do not all hit the API in one second.
 * With spec.renewal.windows, a renewal due outside them moves to the next opening after max(due, now), but never
 * past windowDeadline (then it stays outside, as late as that allows). `now` defaults to the issue time.
 * Returns undefined when the token never needs rotating. Never earlier than MIN_RENEWAL_INTERVAL_MS after issue.
 */
export function renewalTime(
  spec: ScheduleSpec,
  issuedAt: Date,
  expiresAt: Date | undefined,
  random: number,
  now: Date = issuedAt,
): Date | undefined {
  const due = dueTime(spec, issuedAt, expiresAt, random);
  const windows = spec.renewal?.windows;
  if (!due || !windows?.length) return due;
  return new Date(
    Math.max(due.getTime(), placeInWindows(windows, due.getTime(), now.getTime(), issuedAt, expiresAt, random)),
  );
}

/**
 * The renewal time inside the windows: `due` itself when it is inside one; else the next opening after
 * max(due, now), spread over the window's first minutes by `random` so tokens due over a weekend do not all renew at
 * Monday 09:00:00; else, when no window opens before windowDeadline, the deadline (or `due`, if later).
 */
function placeInWindows(
  windows: WindowSpec[],
  due: number,
  now: number,
  issuedAt: Date,
  expiresAt: Date | undefined,
  random: number,
): number {
  const from = Math.max(due, now);
  const deadline = Math.max(from, windowDeadline(issuedAt, expiresAt));
  const next = nextInWindow(windows, from);
  if (!next || next.at > deadline) return Number.isFinite(deadline) ? deadline : from;
  if (next.at === from) return from;
  const spread = random * Math.min(WINDOW_SPREAD_MS, (next.closes - next.at) / 4);
  return Math.floor(Math.min(next.at + spread, deadline));
}

/** The renewal time without windows: expiry-based (renewBefore or percentage) or rotation.every, jittered earlier. */
function dueTime(spec: ScheduleSpec, issuedAt: Date, expiresAt: Date | undefined, random: number): Date | undefined {
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
