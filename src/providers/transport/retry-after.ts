export const DEFAULT_RETRY_AFTER_MS = 1000;
/** A vendor asking for more than a day is treated as a day: the controller re-checks later anyway. */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/**
 * Parses a Retry-After header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns the delay in ms,
 * DEFAULT_RETRY_AFTER_MS when absent or unparseable, never negative.
 */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return DEFAULT_RETRY_AFTER_MS;
  if (/^\d+(\.\d+)?$/.test(value)) return clamp(Math.round(Number(value) * 1000));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return DEFAULT_RETRY_AFTER_MS;
  return clamp(date - nowMs);
}

const clamp = (ms: number) => Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
