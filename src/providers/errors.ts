/**
 * Typed upstream errors. The controller branches on `code`, never on messages: Transient and RateLimited are
 * retried with backoff (RateLimited no sooner than retryAfterMs), Permanent is surfaced and not hot-retried,
 * NotFound means "already gone" for revocations. Conflict means a create hit an existing upstream token of the same
 * name (typically left by a crash between mint and Secret write): not retryable as is, the controller recovers by
 * revoking or adopting the named token. Messages never contain token values.
 */
export type ProviderErrorCode =
  | 'NotFound'
  | 'Permanent'
  | 'Conflict'
  | 'RateLimited'
  | 'Transient'
  | 'Malformed'
  | 'Unsupported';

const BRAND = Symbol.for('tokensync.ProviderError');

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly code: ProviderErrorCode;
  readonly statusCode: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly [BRAND] = true;

  constructor(
    code: ProviderErrorCode,
    message: string,
    options: { statusCode?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = options.statusCode;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Whether retrying later can succeed without a human fixing something. */
  get retryable(): boolean {
    return this.code === 'Transient' || this.code === 'RateLimited' || this.code === 'Malformed';
  }

  /** Brand check that survives duplicate copies of this module (undici's pattern). */
  static is(error: unknown): error is ProviderError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}

export const notFound = (message: string, statusCode = 404) => new ProviderError('NotFound', message, { statusCode });
export const permanent = (message: string, statusCode?: number) =>
  new ProviderError('Permanent', message, statusCode === undefined ? {} : { statusCode });
export const transient = (message: string, options: { statusCode?: number; cause?: unknown } = {}) =>
  new ProviderError('Transient', message, options);
export const rateLimited = (message: string, retryAfterMs: number | undefined, statusCode = 429) =>
  new ProviderError('RateLimited', message, retryAfterMs === undefined ? { statusCode } : { statusCode, retryAfterMs });
/** A create collided with an existing token of the same name (HTTP 409). */
export const conflict = (message: string, statusCode = 409) => new ProviderError('Conflict', message, { statusCode });
export const malformed = (message: string, statusCode?: number) =>
  new ProviderError('Malformed', message, statusCode === undefined ? {} : { statusCode });
export const unsupported = (message: string) => new ProviderError('Unsupported', message);
