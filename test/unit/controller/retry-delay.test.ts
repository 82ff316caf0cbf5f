import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../../src/controller/token/failure.ts';
import { permanent, rateLimited, transient } from '../../../src/providers/errors.ts';

describe('retry delay after a failed upstream call', () => {
  it('backs off slowly on permanent refusals: 30 s doubling, capped at an hour', () => {
    expect(retryDelay(permanent('401'), 1, 0.5)).toBe(30_000);
    expect(retryDelay(permanent('401'), 2, 0.5)).toBe(60_000);
    expect(retryDelay(permanent('401'), 20, 0.5)).toBe(3_600_000);
  });

  it('backs off quickly on transient failures: 1 s doubling, capped at 5 minutes', () => {
    expect(retryDelay(transient('503'), 1, 0.5)).toBe(1_000);
    expect(retryDelay(transient('503'), 4, 0.5)).toBe(8_000);
    expect(retryDelay(new Error('socket hang up'), 30, 0.5)).toBe(300_000);
  });

  it('jitters by ±20% so resources failing together spread out', () => {
    expect(retryDelay(transient('x'), 1, 0)).toBe(800);
    expect(retryDelay(transient('x'), 1, 0.999_999)).toBeCloseTo(1_200, 0);
  });

  it('never retries sooner than the upstream Retry-After, whatever the jitter', () => {
    expect(retryDelay(rateLimited('429', 7_000), 1, 0)).toBe(7_000);
    expect(retryDelay(rateLimited('429', undefined), 1, 0)).toBe(1_000);
    expect(retryDelay(rateLimited('429', 500), 5, 0.5)).toBe(16_000);
  });
});
