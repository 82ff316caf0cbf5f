/**
 * Token bucket: `burst` tokens at most, refilled continuously at `requestsPerSecond`. Every call takes one token,
 * so in any window of t seconds at most burst + rate·t calls go through. Waiters are served strictly in FIFO order
 * (a tryAcquire never jumps the queue), and a waiter whose signal aborts leaves the queue without taking a token.
 *
 * One bucket per provider, shared by every resource using it: the controller keeps them in a map keyed by provider.
 */
export interface TokenBucketOptions {
  requestsPerSecond: number;
  burst: number;
  /** Monotonic clock in ms; default performance.now. Tests inject one (or use fake timers with Date.now). */
  now?: () => number;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class TokenBucket {
  readonly requestsPerSecond: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  readonly #queue: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: TokenBucketOptions) {
    if (!(options.requestsPerSecond > 0) || !Number.isFinite(options.requestsPerSecond)) {
      throw new RangeError('requestsPerSecond must be a positive finite number');
    }
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) throw new RangeError('burst must be >= 1');
    this.requestsPerSecond = options.requestsPerSecond;
    this.burst = Math.floor(options.burst);
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.burst;
    this.#last = this.#now();
  }

  /** Callers waiting for a token. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Tokens available right now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Take a token if one is free and nobody is queued; never waits. */
  tryAcquire(): boolean {
    if (this.#queue.length > 0) return false;
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /** Resolve when a token is taken (FIFO). Rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.#queue.indexOf(waiter);
          if (index !== -1) this.#queue.splice(index, 1);
          reject(signal.reason);
          this.#schedule();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#schedule();
    });
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = now - this.#last;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.requestsPerSecond);
      this.#last = now;
    }
  }

  #drain(): void {
    this.#timer = undefined;
    this.#refill();
    while (this.#queue.length > 0 && this.#tokens >= 1) {
      const waiter = this.#queue.shift()!;
      this.#tokens -= 1;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#queue.length === 0) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#timer !== undefined) return;
    this.#refill();
    const missing = Math.max(0, 1 - this.#tokens);
    // Round up: a timer that fires a little early only re-schedules, it never over-grants.
    const delay = Math.max(1, Math.ceil((missing / this.requestsPerSecond) * 1000));
    this.#timer = setTimeout(() => this.#drain(), delay);
  }
}

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
