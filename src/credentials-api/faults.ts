import type { Random } from './random.ts';
import type { FaultsBody } from './schemas.ts';

/** The run-time fault configuration, as `GET /_faults` shows it. */
export interface FaultConfig {
  latencyMs: number;
  errorRate: number;
  timeoutRate: number;
  rateLimitNext: { count: number; retryAfterSeconds: number } | null;
  malformedRate: number;
}

/**
 * What to do to one management request, decided before it runs:
 * - `timeout`: never answer (the request has no effect);
 * - `error`: 503 (no effect);
 * - `rateLimited`: 429 with Retry-After (no effect);
 * - `malformed`: run the request, then answer 200 with a truncated body (the effect happened, the client cannot
 *   tell: the "crash between mint and Secret write" case the controller recovers from by token name);
 * - `none`.
 */
export type FaultAction =
  | { kind: 'none' }
  | { kind: 'timeout' }
  | { kind: 'error' }
  | { kind: 'rateLimited'; retryAfterSeconds: number }
  | { kind: 'malformed' };

export interface FaultDecision {
  latencyMs: number;
  action: FaultAction;
}

const NO_FAULTS: FaultConfig = { latencyMs: 0, errorRate: 0, timeoutRate: 0, rateLimitNext: null, malformedRate: 0 };

/**
 * Lets a test make the server misbehave without restarting it. Probabilities draw from a seedable PRNG; a rate of
 * 0 never fires and 1 always does, so most tests need no seed at all.
 */
export class FaultInjector {
  readonly #random: Random;
  #config: FaultConfig = { ...NO_FAULTS };

  constructor(random: Random) {
    this.#random = random;
  }

  get(): FaultConfig {
    return { ...this.#config, rateLimitNext: this.#config.rateLimitNext && { ...this.#config.rateLimitNext } };
  }

  /** PUT semantics: the body replaces the whole configuration; absent fields mean "off". */
  set(body: FaultsBody): FaultConfig {
    if (body.seed !== undefined) this.#random.reseed(body.seed);
    this.#config = {
      latencyMs: body.latencyMs ?? 0,
      errorRate: body.errorRate ?? 0,
      timeoutRate: body.timeoutRate ?? 0,
      rateLimitNext:
        body.rateLimitNext && body.rateLimitNext.count > 0
          ? { count: body.rateLimitNext.count, retryAfterSeconds: body.rateLimitNext.retryAfterSeconds ?? 1 }
          : null,
      malformedRate: body.malformedRate ?? 0,
    };
    return this.get();
  }

  clear(): void {
    this.#config = { ...NO_FAULTS };
  }

  /** Consumes one `rateLimitNext` slot when that fires; otherwise draws only for the rates that are set. */
  decide(): FaultDecision {
    const config = this.#config;
    const latencyMs = config.latencyMs;
    if (config.rateLimitNext) {
      const { retryAfterSeconds } = config.rateLimitNext;
      config.rateLimitNext.count -= 1;
      if (config.rateLimitNext.count <= 0) config.rateLimitNext = null;
      return { latencyMs, action: { kind: 'rateLimited', retryAfterSeconds } };
    }
    if (this.#fires(config.timeoutRate)) return { latencyMs, action: { kind: 'timeout' } };
    if (this.#fires(config.errorRate)) return { latencyMs, action: { kind: 'error' } };
    if (this.#fires(config.malformedRate)) return { latencyMs, action: { kind: 'malformed' } };
    return { latencyMs, action: { kind: 'none' } };
  }

  #fires(rate: number): boolean {
    return rate > 0 && this.#random.next() < rate;
  }
}
