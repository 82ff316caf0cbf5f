// A port of client-go's util/workqueue: an ordered queue plus a `dirty` set (keys waiting to be processed) and a
// `processing` set (keys handed to a worker and not yet `done`). The invariants the controllers rely on:
//   - adding a key that is already dirty does nothing, so bursts of events for one object collapse into one reconcile;
//   - a key added while it is being processed is remembered (dirty) and re-queued when `done` is called, so one key
//     is never worked by two workers at once and no change is lost;
//   - `addAfter` schedules on a single timer for the earliest due key (a binary heap), so thousands of scheduled
//     renewals cost one timer, not thousands;
//   - `addRateLimited` / `forget` / `numRequeues` layer per-key backoff over it, as client-go's rate-limiting queue.
import { type BackoffPolicy, backoffDelay } from '../backoff.ts';
import { type Clock, realClock } from '../clock.ts';
import { TokenBucket } from '../token-bucket.ts';

export type { Clock } from '../clock.ts';
export { realClock } from '../clock.ts';

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

export interface WorkQueueMetrics {
  /** A key entered the queue (not counted when the add collapsed into an existing dirty key). */
  onAdd?(): void;
  onDepth?(n: number): void;
  /** Time a key waited in the queue before a worker got it. */
  onLatency?(ms: number): void;
  /** Time between get and done. */
  onWorkDuration?(ms: number): void;
  onRetry?(): void;
}

export interface WorkQueueOptions {
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
}

interface Waiting {
  key: string;
  due: number;
  /** Insertion order breaks ties so keys due at the same instant come out in the order they were scheduled. */
  seq: number;
}

export class WorkQueue {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter;
  readonly #metrics: WorkQueueMetrics;

  // FIFO as array + head index: shift() is O(n) on large arrays; we compact occasionally instead.
  #queue: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #getters: Array<(key: string | undefined) => void> = [];
  #shuttingDown = false;
  #drainWaiters: Array<() => void> = [];

  // Delaying layer: a min-heap by due time with lazy deletion. `#waitingByKey` holds the live entry for each key;
  // heap entries that are no longer the live one (superseded by an earlier addAfter) are skipped when popped.
  readonly #heap: Waiting[] = [];
  readonly #waitingByKey = new Map<string, Waiting>();
  #seq = 0;
  #timer: unknown;
  #timerDue = Number.POSITIVE_INFINITY;

  // Only tracked when the matching metric is wired, so an unmetered queue pays nothing.
  readonly #addedAt = new Map<string, number>();
  readonly #startedAt = new Map<string, number>();

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? '';
    this.#clock = options.clock ?? realClock;
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter(this.#clock);
    this.#metrics = options.metrics ?? {};
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) return;
    this.#metrics.onAdd?.();
    this.#dirty.add(key);
    if (this.#metrics.onLatency) this.#addedAt.set(key, this.#clock.now());
    // In flight: stays dirty only; `done` puts it back in the queue.
    if (this.#processing.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) {
      // A worker is already waiting: hand the key over directly instead of queueing it.
      this.#take(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
    this.#metrics.onDepth?.(this.len());
  }

  /** Adds the key after `delayMs`. If the key is already waiting, the earlier of the two times wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const due = this.#clock.now() + delayMs;
    const existing = this.#waitingByKey.get(key);
    if (existing && existing.due <= due) return;
    const entry: Waiting = { key, due, seq: this.#seq++ };
    this.#waitingByKey.set(key, entry);
    this.#heapPush(entry);
    if (due < this.#timerDue) this.#armTimer(due);
  }

  addRateLimited(key: string): void {
    this.#metrics.onRetry?.();
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * Resolves with the next key, which is then in processing until `done(key)`. After shutdown, keys still queued are
   * handed out (as client-go does) and then `undefined`, which tells the worker to exit.
   */
  get(): Promise<string | undefined> {
    if (this.#head < this.#queue.length) {
      const key = this.#queue[this.#head]!;
      this.#head++;
      this.#compact();
      this.#take(key);
      this.#metrics.onDepth?.(this.len());
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#metrics.onWorkDuration) {
      const started = this.#startedAt.get(key);
      this.#startedAt.delete(key);
      if (started !== undefined) this.#metrics.onWorkDuration(this.#clock.now() - started);
    }
    if (this.#dirty.has(key)) {
      // Re-added while in flight: now it may run again. Clear dirty so add() takes the normal path.
      this.#dirty.delete(key);
      const addedAt = this.#addedAt.get(key);
      this.#addRequeued(key, addedAt);
    }
    if (this.#processing.size === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Keys queued and not yet handed to a worker (not counting delayed ones or those in flight). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  /** Number of keys scheduled by addAfter/addRateLimited and not yet due; for tests and metrics. */
  waitingLen(): number {
    return this.#waitingByKey.size;
  }

  /** Stops accepting keys, drops delayed ones, and wakes idle workers with `undefined`. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    this.#heap.length = 0;
    this.#waitingByKey.clear();
    const getters = this.#getters.splice(0);
    for (const g of getters) g(undefined);
  }

  /** Shuts down and resolves once every key handed to a worker has been marked done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #take(key: string): void {
    this.#dirty.delete(key);
    this.#processing.add(key);
    const now = this.#metrics.onLatency || this.#metrics.onWorkDuration ? this.#clock.now() : 0;
    if (this.#metrics.onLatency) {
      const addedAt = this.#addedAt.get(key);
      this.#addedAt.delete(key);
      if (addedAt !== undefined) this.#metrics.onLatency(now - addedAt);
    }
    if (this.#metrics.onWorkDuration) this.#startedAt.set(key, now);
  }

  // Like add(), but after shutdown too: a key re-added while in flight must still be handed out so the final state is
  // reconciled (client-go does the same in Done).
  #addRequeued(key: string, addedAt: number | undefined): void {
    this.#dirty.add(key);
    if (addedAt !== undefined) this.#addedAt.set(key, addedAt);
    const getter = this.#getters.shift();
    if (getter) {
      this.#take(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
    this.#metrics.onDepth?.(this.len());
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #armTimer(due: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerDue = due;
    // Node timers may fire a hair early relative to Date.now(); #fire re-arms if nothing is due yet.
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, due - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!;
      if (this.#waitingByKey.get(top.key) !== top) {
        this.#heapPop();
        continue;
      }
      if (top.due > now) break;
      this.#heapPop();
      this.#waitingByKey.delete(top.key);
      this.add(top.key);
    }
    const next = this.#heap[0];
    if (next) this.#armTimer(Math.max(next.due, now + 1));
  }

  #less(a: Waiting, b: Waiting): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #heapPush(entry: Waiting): void {
    const h = this.#heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #heapPop(): Waiting | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
