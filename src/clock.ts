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
 * A sleep that `wake()` cuts short: loops that wait between retries (informer reconnects, lease renewals) must stop
 * at once when asked, not after their current wait.
 */
export class Sleeper {
  readonly #clock: Clock;
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(clock: Clock = realClock) {
    this.#clock = clock;
  }

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

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.();
  }

  /** Ends the current sleep and makes every later one return at once. */
  stop(): void {
    this.#stopped = true;
    this.wake();
  }
}
