// client-go's rate limiters for the work queue's per-key requeue (util/workqueue/default_rate_limiters.go): the
// per-item exponential backoff (src/backoff.ts), the overall token bucket (src/token-bucket.ts) and the max of both.
import { type BackoffPolicy, backoffDelay } from '../backoff.ts';
import { type Clock, realClock } from '../clock.ts';
import { TokenBucket } from '../token-bucket.ts';

export interface RateLimiter {
  /** How long (ms) to wait before this key may be processed again; counts as one more failure. */
  when(key: string): number;
  /** The key succeeded: reset its failure history. */
  forget(key: string): void;
  numRequeues(key: string): number;
}

/**
 * Per-key exponential backoff (client-go's ItemExponentialFailureRateLimiter, defaults 5 ms → 1000 s), computed by
 * the project's one backoff, src/backoff.ts: the n-th consecutive failure waits base · 2^(n-1), capped, spread by
 * the jitter fraction (uniform in [1-f, 1+f]) so keys that failed together (an upstream outage) don't retry in step.
 */
export class ItemExponentialRateLimiter implements RateLimiter {
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  readonly #failures = new Map<string, number>();

  constructor(options: { baseMs?: number; maxMs?: number; jitter?: number; random?: () => number } = {}) {
    this.#policy = { baseMs: options.baseMs ?? 5, maxMs: options.maxMs ?? 1_000_000, jitter: options.jitter ?? 0 };
    this.#random = options.random ?? Math.random;
  }

  when(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return backoffDelay(this.#policy, failures, this.#random);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * Overall token bucket (client-go's BucketRateLimiter over golang.org/x/time/rate): protects the API server from a
 * retry storm across all keys. Like rate.Limiter.Reserve, each call reserves a slot (the bucket may go negative) and
 * returns how long until that slot is due. The bucket is the project's one implementation, src/token-bucket.ts.
 */
export class BucketRateLimiter implements RateLimiter {
  readonly #bucket: TokenBucket;

  constructor(options: { qps?: number; burst?: number; clock?: Clock } = {}) {
    this.#bucket = new TokenBucket({
      requestsPerSecond: options.qps ?? 10,
      burst: options.burst ?? 100,
      clock: options.clock ?? realClock,
    });
  }

  when(_key: string): number {
    return this.#bucket.reserve();
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay of its limiters wins; forget and numRequeues consult all of them. */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.#limiters = limiters;
  }

  when(key: string): number {
    let max = 0;
    for (const l of this.#limiters) max = Math.max(max, l.when(key));
    return max;
  }

  forget(key: string): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    let max = 0;
    for (const l of this.#limiters) max = Math.max(max, l.numRequeues(key));
    return max;
  }
}

/** client-go's DefaultControllerRateLimiter: max(per-item 5 ms → 1000 s, overall 10 qps / burst 100). */
export function defaultControllerRateLimiter(clock: Clock = realClock): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialRateLimiter({ baseMs: 5, maxMs: 1_000_000 }),
    new BucketRateLimiter({ qps: 10, burst: 100, clock }),
  );
}
