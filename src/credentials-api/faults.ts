import type { Random } from './random.ts';
import type { FaultsBody } from './schemas.ts';

/**
 * The management operations faults can be aimed at: `mint` (POST …/tokens), `list` (GET …/tokens), `lookup`
 * (GET …/tokens/{name}), `update` (PATCH …/tokens/{name}), `revoke` (DELETE …/tokens/{name}) and `accounts` (the
 * service-account routes).
 */
export const OPERATIONS = ['mint', 'list', 'lookup', 'update', 'revoke', 'accounts'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The run-time fault configuration, as `GET /_faults` shows it. */
export interface FaultConfig {
  latencyMs: number;
  errorRate: number;
  timeoutRate: number;
  rateLimitNext: { count: number; retryAfterSeconds: number } | null;
  malformedRate: number;
  /** The operations the faults above apply to; null = every management operation. */
  operations: Operation[] | null;
  /**
   * Longest lifetime a minted token gets, in seconds, whatever the client asked (a vendor policy, as Customer.io's
   * JWTs live about an hour): a token asked to live longer, or forever, expires this long after its creation.
   * null = no cap. Not a fault strictly speaking, but switched the same way; the start-time value is the default.
   */
  maxTokenLifetimeSeconds: number | null;
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

const NO_FAULTS: FaultConfig = {
  latencyMs: 0,
  errorRate: 0,
  timeoutRate: 0,
  rateLimitNext: null,
  malformedRate: 0,
  operations: null,
  maxTokenLifetimeSeconds: null,
};

/**
 * Lets a test make the server misbehave without restarting it. Probabilities draw from a seedable PRNG; a rate of
 * 0 never fires and 1 always does, so most tests need no seed at all.
 */
export class FaultInjector {
  readonly #random: Random;
  /** What "off" means: no faults, and the lifetime cap the server was started with. */
  readonly #baseline: FaultConfig;
  #config: FaultConfig;

  constructor(random: Random, options: { maxTokenLifetimeSeconds?: number | undefined } = {}) {
    this.#random = random;
    this.#baseline = { ...NO_FAULTS, maxTokenLifetimeSeconds: options.maxTokenLifetimeSeconds ?? null };
    this.#config = { ...this.#baseline };
  }

  get(): FaultConfig {
    return {
      ...this.#config,
      rateLimitNext: this.#config.rateLimitNext && { ...this.#config.rateLimitNext },
      operations: this.#config.operations && [...this.#config.operations],
    };
  }

  /** The lifetime cap in milliseconds, if any. */
  maxTokenLifetimeMs(): number | undefined {
    const cap = this.#config.maxTokenLifetimeSeconds;
    return cap === null ? undefined : cap * 1000;
  }

  /**
   * PUT semantics: the body replaces the whole configuration; absent fields mean "off" (for the lifetime cap: the
   * value the server was started with).
   */
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
      operations: body.operations ? [...new Set(body.operations)] : null,
      maxTokenLifetimeSeconds:
        body.maxTokenLifetimeSeconds === undefined
          ? this.#baseline.maxTokenLifetimeSeconds
          : body.maxTokenLifetimeSeconds,
    };
    return this.get();
  }

  clear(): void {
    this.#config = { ...this.#baseline };
  }

  /**
   * Consumes one `rateLimitNext` slot when that fires; otherwise draws only for the rates that are set. An
   * operation outside `operations` gets no fault and draws nothing, so aiming faults leaves the others' sequence be.
   */
  decide(operation?: Operation): FaultDecision {
    const config = this.#config;
    if (operation && config.operations && !config.operations.includes(operation)) {
      return { latencyMs: 0, action: { kind: 'none' } };
    }
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
