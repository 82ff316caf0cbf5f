/**
 * The one token bucket: `burst` tokens at most, refilled continuously at `requestsPerSecond`. Every grant takes one
 * token, so in any window of t seconds at most burst + rate·t grants go through. Used for the providers' upstream
 * limits (one bucket per provider), the work queue's overall retry limit (client-go's BucketRateLimiter) and the
 * Event recorder's write limit (client-go's EventCorrelator), all on the time of src/clock.ts.
 *
 * Three ways to take a token:
 *   - `tryAcquire()` takes one if it is free and nobody waits; never waits;
 *   - `acquire(signal)` waits for one; waiters are served strictly in FIFO order, and a waiter whose signal aborts
 *     leaves the queue without taking a token;
 *   - `reserve()` takes one now even if the bucket is empty (the count goes negative, as golang.org/x/time/rate's
 *     Reserve) and says how long until that token would have been there: for callers that schedule, not wait.
 */
import { type Clock, realClock } from './clock.ts';

export interface TokenBucketOptions {
  requestsPerSecond: number;
  burst: number;
  /** Default realClock; tests pass a manual clock or use fake timers. */
  clock?: Clock;
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
  readonly #clock: Clock;
  #tokens: number;
  #last: number;
  readonly #queue: Waiter[] = [];
  #timer: unknown;

  constructor(options: TokenBucketOptions) {
    if (!(options.requestsPerSecond > 0) || !Number.isFinite(options.requestsPerSecond)) {
      throw new RangeError('requestsPerSecond must be a positive finite number');
    }
    if (!(options.burst >= 1) || !Number.isFinite(options.burst)) throw new RangeError('burst must be >= 1');
    this.requestsPerSecond = options.requestsPerSecond;
    this.burst = Math.floor(options.burst);
    this.#clock = options.clock ?? realClock;
    this.#tokens = this.burst;
    this.#last = this.#clock.now();
  }

  /** Callers waiting for a token. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Tokens available right now (fractional; negative after reservations beyond the burst). */
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

  /** Takes a token now, borrowing from the future if needed; returns ms until it is due (0: available now). */
  reserve(): number {
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.requestsPerSecond) * 1000;
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
    const now = this.#clock.now();
    const elapsed = now - this.#last;
    // A wall clock stepped back counts as no time passed (not as a debt to wait out).
    if (elapsed > 0) this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.requestsPerSecond);
    this.#last = now;
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
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#timer !== undefined) return;
    this.#refill();
    const missing = Math.max(0, 1 - this.#tokens);
    // Round up: a timer that fires a little early only re-schedules, it never over-grants.
    const delay = Math.max(1, Math.ceil((missing / this.requestsPerSecond) * 1000));
    this.#timer = this.#clock.setTimeout(() => this.#drain(), delay);
  }
}
