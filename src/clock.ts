/**
 * The one source of time. Every module that reads the time or sets a timer takes a Clock (default `realClock`), so
 * unit tests drive renewals, backoffs and grace periods deterministically and nothing reads `Date.now()` directly.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Reads the globals at call time (not at import time), so vitest fake timers installed later still apply. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The clock's time as a Date. */
export const dateOf = (clock: Clock): Date => new Date(clock.now());

/** A clock that moves only when told to, for unit tests that do not need timers to fire. */
export function manualClock(
  start: number | Date = 0,
): Clock & { set(t: number | Date): void; advance(ms: number): void } {
  let t = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => t,
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
    set(v) {
      t = typeof v === 'number' ? v : v.getTime();
    },
    advance(ms) {
      t += ms;
    },
  };
}

/**
 * A sleep that `wake()` ends early (stop() of a loop must not wait out a retry period). One per loop: the informer's
 * reconnect backoff and the Lease loops (leader election, shards) share it instead of each keeping a private copy.
 */
export class Sleeper {
  readonly #clock: Clock;
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(clock: Clock = realClock) {
    this.#clock = clock;
  }

  /** Resolves after `ms`, at once after stop(), or when woken. */
  sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const handle = this.#clock.setTimeout(done, ms);
      const clock = this.#clock;
      function done() {
        clock.clearTimeout(handle);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Ends the current sleep (if any). */
  wake(): void {
    this.#wake?.();
  }

  /** Ends the current sleep and makes every later one resolve at once, until start(). */
  stop(): void {
    this.#stopped = true;
    this.wake();
  }

  start(): void {
    this.#stopped = false;
  }
}

/** Resolves with `p`, or with `false` when `ms` passes first (the promise itself keeps running). */
export function withTimeout<T>(clock: Clock, p: Promise<T>, ms: number): Promise<T | false> {
  let handle: unknown;
  const timeout = new Promise<false>((resolve) => {
    handle = clock.setTimeout(() => resolve(false), ms);
  });
  return Promise.race([p, timeout]).finally(() => clock.clearTimeout(handle));
}
