/**
 * The one exponential backoff: `base · 2^(n-1)` after the n-th consecutive failure, capped at `max`, spread by
 * jitter so keys or resources that failed together do not retry in step. Used by the work queue's per-key limiter,
 * the informer's reconnects and the token controller's failure schedule.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /**
   * How the delay is spread: a fraction f multiplies it by a uniform factor in [1-f, 1+f] (capped at max);
   * 'equal' gives a uniform delay in [d/2, d] (never less than half, never in lockstep); 0 gives the exact delay.
   */
  jitter: number | 'equal';
}

/** Delay before the attempt that follows the `failures`-th consecutive failure (failures >= 1). */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  // 2^n overflows to Infinity long before it matters; Math.min keeps it at the cap.
  const exact = Math.min(policy.baseMs * 2 ** Math.max(0, failures - 1), policy.maxMs);
  if (policy.jitter === 'equal') return exact / 2 + (exact / 2) * random();
  if (policy.jitter <= 0) return exact;
  return Math.min(exact * (1 - policy.jitter + 2 * policy.jitter * random()), policy.maxMs * (1 + policy.jitter));
}

/** A refusal a human must fix (401, 403, a refused Secret write) is retried slowly: 30 s doubling, at most hourly. */
export const PERMANENT_FAILURE: BackoffPolicy = { baseMs: 30_000, maxMs: 3_600_000, jitter: 0.2 };
/** Transient failures (5xx, timeouts, 429): 1 s doubling, at most 5 min. */
export const TRANSIENT_FAILURE: BackoffPolicy = { baseMs: 1_000, maxMs: 300_000, jitter: 0.2 };
