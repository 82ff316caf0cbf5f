export interface RateLimitConfig {
  requestsPerSecond: number;
  burst: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A token bucket per management key, like the per-key limits of real credentials APIs: `burst` requests at once,
 * then `requestsPerSecond` sustained. Buckets are created only for authenticated keys, so the map is bounded by
 * the configured key count whatever callers send.
 */
export class RateLimiter {
  readonly #config: RateLimitConfig;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(config: RateLimitConfig, now: () => number) {
    this.#config = config;
    this.#now = now;
  }

  take(key: string): RateDecision {
    const { requestsPerSecond, burst } = this.#config;
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: burst, updatedAt: now };
    // A clock that goes backwards (tests) refills nothing rather than draining the bucket.
    const elapsedSeconds = Math.max(0, now - bucket.updatedAt) / 1000;
    bucket.tokens = Math.min(burst, bucket.tokens + elapsedSeconds * requestsPerSecond);
    bucket.updatedAt = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    // Whole seconds, at least 1: Retry-After has no fractions, and 0 would invite a hot retry loop.
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / requestsPerSecond));
    return { allowed: false, retryAfterSeconds };
  }
}
