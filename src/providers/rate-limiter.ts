/**
 * The providers' upstream limit: one token bucket per provider, shared by every resource using it (the controller
 * keeps them in a map keyed by provider). The bucket itself is the project's one implementation, src/token-bucket.ts.
 */
import { TokenBucket } from '../token-bucket.ts';

export { TokenBucket, type TokenBucketOptions } from '../token-bucket.ts';

/** Limiters keyed by provider (namespace/name or cluster/name), re-created when the provider's limits change. */
export class TokenBucketRegistry {
  readonly #buckets = new Map<string, TokenBucket>();

  get(key: string, limits: { requestsPerSecond: number; burst: number }): TokenBucket {
    const existing = this.#buckets.get(key);
    if (existing && existing.requestsPerSecond === limits.requestsPerSecond && existing.burst === limits.burst) {
      return existing;
    }
    const bucket = new TokenBucket(limits);
    this.#buckets.set(key, bucket);
    return bucket;
  }

  delete(key: string): void {
    this.#buckets.delete(key);
  }
}
