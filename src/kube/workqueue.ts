// A port of client-go's util/workqueue: an ordered queue plus a `dirty` set (keys waiting to be processed) and a
// `processing` set (keys handed to a worker and not yet `done`). The invariants the controllers rely on:
//   - adding a key that is already dirty does nothing, so bursts of events for one object collapse into one reconcile;
//   - a key added while it is being processed is remembered (dirty) and re-queued when `done` is called, so one key
//     is never worked by two workers at once and no change is lost;
//   - `addAfter` schedules on a single timer for the earliest due key (a binary heap), so thousands of scheduled
//     renewals cost one timer, not thousands;
//   - `addRateLimited` / `forget` / `numRequeues` layer per-key backoff over it, as client-go's rate-limiting queue.
// Beyond client-go: keys queue in three priority lanes (due timers, then new or changed resources, then re-checks:
// resync, the enumeration at start, error retries; see `Priority`) and, within a lane, round-robin across
// namespaces, so a token created during a burst, or in a quiet namespace next to a busy one, waits a turn, not the
// whole queue, and a renewal that is due does not wait behind a burst of creates.
import { type Clock, realClock } from '../clock.ts';
import { type Entry, Lane, MinHeap } from './queue-storage.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiters.ts';

export type { Clock } from '../clock.ts';
export { realClock } from '../clock.ts';
export {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from './rate-limiters.ts';

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

/**
 * Which keys go first:
 *   - 'due': a timer whose time has come (a renewal, a grace period's end, the end of a wait the reconciler asked
 *     for): it has a deadline, so it goes even before new work — a burst of creates must not make renewals late;
 *   - 'high': something changed (an informer event: a new resource, a spec edit, a Secret deleted);
 *   - 'low': work that only re-checks (the periodic resync, the enumeration when a leader starts, error retries).
 * A worker takes a key from the first non-empty lane, so a resource created during a burst of re-checks, or during a
 * restart that enqueues every resource, is not queued behind them; except that every LOW_LANE_TURN-th key comes from
 * the low lane when it holds any, so a re-check (an error retry of a token not Ready yet, the safety net after a stale
 * cache) is not starved by a long burst of new resources: it waited for the whole burst before (a bench token in a
 * second namespace took 6.5 s to Ready during a burst of 1,000 instead of half a second).
 */
export type Priority = 'due' | 'high' | 'low';
const LANES: Record<Priority, number> = { due: 0, high: 1, low: 2 };
const PRIORITIES: Priority[] = ['due', 'high', 'low'];
/** One key in this many is taken from the low lane first, when it holds any (bounded wait for re-checks). */
export const LOW_LANE_TURN = 8;

export interface WorkQueueOptions {
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  /**
   * The fairness domain of a key: keys are served round-robin across domains, FIFO within one. Default: the part of
   * the key before its last '/' (the namespace of "namespace/name"), '' for keys without one.
   */
  domainOf?: (key: string) => string;
  /**
   * Which keys the queue accepts (sharding: those of the shards this replica holds). A key refused here is not queued,
   * not scheduled, and not put back after `done`. Default: every key.
   */
  admit?: (key: string) => boolean;
}

/** The namespace part of a "namespace/name" key. */
export function namespaceOfKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

interface Waiting {
  key: string;
  due: number;
  /** Insertion order breaks ties so keys due at the same instant come out in the order they were scheduled. */
  seq: number;
  lane: number;
}

export class WorkQueue {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter;
  readonly #metrics: WorkQueueMetrics;
  readonly #domainOf: (key: string) => string;
  readonly #admit: (key: string) => boolean;
  #idleWaiters: Array<{ match: (key: string) => boolean; resolve: () => void }> = [];

  readonly #lanes = [new Lane(), new Lane(), new Lane()];
  /** Keys handed out so far, for the low lane's turn. */
  #handedOut = 0;
  /** Keys queued (in a lane, not yet handed out), with their live entry. */
  readonly #queued = new Map<string, Entry>();
  /** Keys waiting to be processed (queued, or re-added while in flight), with the lane they go to. */
  readonly #dirty = new Map<string, number>();
  readonly #processing = new Set<string>();
  readonly #isLive = (e: Entry) => this.#queued.get(e.key) === e;
  readonly #getters: Array<(key: string | undefined) => void> = [];
  #shuttingDown = false;
  #drainWaiters: Array<() => void> = [];

  // Delaying layer: a min-heap by due time with lazy deletion. `#waitingByKey` holds the live entry for each key;
  // heap entries that are no longer the live one (superseded by an earlier addAfter) are skipped when popped.
  readonly #heap = new MinHeap<Waiting>((a, b) => a.due < b.due || (a.due === b.due && a.seq < b.seq));
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
    this.#domainOf = options.domainOf ?? namespaceOfKey;
    this.#admit = options.admit ?? (() => true);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Queues the key. A key already waiting is not queued twice; adding it again with a higher priority moves it to
   * the high lane (keeping it once).
   */
  add(key: string, priority: Priority = 'high'): void {
    if (this.#shuttingDown || !this.#admit(key)) return;
    this.#add(key, LANES[priority]);
  }

  #add(key: string, lane: number): void {
    const dirtyLane = this.#dirty.get(key);
    if (dirtyLane !== undefined) {
      if (lane < dirtyLane) this.#raise(key, lane);
      return;
    }
    this.#metrics.onAdd?.();
    this.#dirty.set(key, lane);
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
    this.#enqueue(key, lane);
  }

  #raise(key: string, lane: number): void {
    this.#dirty.set(key, lane);
    if (this.#queued.has(key)) this.#enqueue(key, lane); // supersedes the lower entry
  }

  #enqueue(key: string, lane: number): void {
    const entry: Entry = { key, lane, domain: this.#domainOf(key) };
    this.#queued.set(key, entry);
    this.#lanes[lane]!.push(entry);
    this.#metrics.onDepth?.(this.len());
  }

  /**
   * Adds the key after `delayMs`, at `priority` (default 'due': a timer fires when something is due). If the key is
   * already waiting, the earlier of the two times and the higher of the two priorities win. A delay of zero adds at
   * once, at the same priority.
   */
  addAfter(key: string, delayMs: number, priority: Priority = 'due'): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key, priority);
      return;
    }
    if (!this.#admit(key)) return;
    const lane = LANES[priority];
    const due = this.#clock.now() + delayMs;
    const existing = this.#waitingByKey.get(key);
    if (existing && existing.due <= due) {
      existing.lane = Math.min(existing.lane, lane);
      return;
    }
    const entry: Waiting = { key, due, seq: this.#seq++, lane: existing ? Math.min(existing.lane, lane) : lane };
    this.#waitingByKey.set(key, entry);
    this.#heap.push(entry);
    if (due < this.#timerDue) this.#armTimer(due);
  }

  /** Re-adds a failed key after its backoff; a retry re-checks, so it goes to the low lane unless told otherwise. */
  addRateLimited(key: string, priority: Priority = 'low'): void {
    this.#metrics.onRetry?.();
    this.addAfter(key, this.#rateLimiter.when(key), priority);
  }

  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * Resolves with the next key, which is then in processing until `done(key)`: a high-priority key if any, and
   * within a priority the next domain (namespace) in turn. After shutdown, keys still queued are handed out (as
   * client-go does) and then `undefined`, which tells the worker to exit.
   */
  get(): Promise<string | undefined> {
    const entry = this.#next();
    if (entry) {
      this.#take(entry.key);
      this.#metrics.onDepth?.(this.len());
      return Promise.resolve(entry.key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  #next(): Entry | undefined {
    if (this.#queued.size === 0) return undefined;
    if (++this.#handedOut % LOW_LANE_TURN === 0) {
      const entry = this.#lanes[LANES.low]!.shift(this.#isLive);
      if (entry) return entry;
    }
    for (const lane of this.#lanes) {
      const entry = lane.shift(this.#isLive);
      if (entry) return entry;
    }
    return undefined;
  }

  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#metrics.onWorkDuration) {
      const started = this.#startedAt.get(key);
      this.#startedAt.delete(key);
      if (started !== undefined) this.#metrics.onWorkDuration(this.#clock.now() - started);
    }
    const lane = this.#dirty.get(key);
    if (lane !== undefined) {
      // Re-added while in flight: now it may run again, unless its shard moved away meanwhile.
      if (this.#admit(key)) {
        this.#addRequeued(key, lane);
      } else {
        this.#dirty.delete(key);
        this.#addedAt.delete(key);
      }
    }
    if (this.#idleWaiters.length > 0) {
      const waiting = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiting) this.#resolveWhenIdle(w.match, w.resolve);
    }
    if (this.#processing.size === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Forgets every queued or scheduled key that matches (sharding: the keys of a shard this replica gave up). Keys in
   * flight finish; `whenIdle` waits for them.
   */
  drop(match: (key: string) => boolean): void {
    for (const key of [...this.#queued.keys()]) {
      if (!match(key)) continue;
      this.#queued.delete(key); // its lane entry is no longer live and is skipped when met
      this.#dirty.delete(key);
      this.#addedAt.delete(key);
      this.#rateLimiter.forget(key);
    }
    // Keys re-added while in flight are dirty but not queued: done() would put them back.
    for (const key of [...this.#dirty.keys()]) if (match(key) && this.#processing.has(key)) this.#dirty.delete(key);
    for (const key of [...this.#waitingByKey.keys()]) {
      if (match(key)) this.#waitingByKey.delete(key); // the heap entry is skipped lazily
    }
    this.#metrics.onDepth?.(this.len());
  }

  /** Resolves once no key that matches is in flight. */
  whenIdle(match: (key: string) => boolean): Promise<void> {
    return new Promise((resolve) => this.#resolveWhenIdle(match, resolve));
  }

  #resolveWhenIdle(match: (key: string) => boolean, resolve: () => void): void {
    for (const key of this.#processing) {
      if (match(key)) {
        this.#idleWaiters.push({ match, resolve });
        return;
      }
    }
    resolve();
  }

  /** Keys queued and not yet handed to a worker (not counting delayed ones or those in flight). */
  len(): number {
    return this.#queued.size;
  }

  /** Keys queued at a priority; for tests and metrics. */
  lenAt(priority: Priority): number {
    let n = 0;
    for (const e of this.#queued.values()) if (e.lane === LANES[priority]) n++;
    return n;
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
    this.#heap.clear();
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
    this.#queued.delete(key);
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
  // reconciled (client-go does the same in Done). The key is already dirty, at `lane`.
  #addRequeued(key: string, lane: number): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#take(key);
      getter(key);
      return;
    }
    this.#enqueue(key, lane);
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
    while (this.#heap.size > 0) {
      const top = this.#heap.peek()!;
      if (this.#waitingByKey.get(top.key) !== top) {
        this.#heap.pop();
        continue;
      }
      if (top.due > now) break;
      this.#heap.pop();
      this.#waitingByKey.delete(top.key);
      this.add(top.key, PRIORITIES[top.lane]);
    }
    const next = this.#heap.peek();
    if (next) this.#armTimer(Math.max(next.due, now + 1));
  }
}
