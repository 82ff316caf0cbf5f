import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/credentials-api/rate-limit.ts';
import { manualClock, startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

const SAS = '/api/v1/auth/service-accounts';

describe('token bucket', () => {
  it('allows the burst, then refills at the sustained rate', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ requestsPerSecond: 2, burst: 3 }, clock.now);
    expect([1, 2, 3].map(() => limiter.take('k').allowed)).toEqual([true, true, true]);
    expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(500);
    expect(limiter.take('k').allowed).toBe(true);
    expect(limiter.take('k').allowed).toBe(false);
    expect(limiter.take('other').allowed).toBe(true);
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ requestsPerSecond: 0.25, burst: 1 }, clock.now);
    limiter.take('k');
    expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 4 });
  });
});

describe('rate limiting per management key', () => {
  it('answers 429 with Retry-After and a JSON error once the burst is spent, and counts it', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now, rateLimit: { requestsPerSecond: 1, burst: 2 } });
    expect((await t.call('GET', SAS)).status).toBe(200);
    expect((await t.call('GET', SAS)).status).toBe(200);
    const limited = await t.call('GET', SAS);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json).toEqual({ error: 'rate_limited', message: expect.any(String) });
    expect((await t.call('GET', '/api/v1/audit/stats')).json).toMatchObject({ requests: 3, rateLimited: 1 });
    clock.advance(1000);
    expect((await t.call('GET', SAS)).status).toBe(200);
  });

  it('keeps separate buckets per key', async () => {
    const clock = manualClock();
    const other = 'other-key-0123456789';
    t = await startTestApi({
      now: clock.now,
      rateLimit: { requestsPerSecond: 1, burst: 1 },
      keys: [{ key: other, groups: [] }],
    });
    expect((await t.call('GET', SAS)).status).toBe(200);
    expect((await t.call('GET', SAS)).status).toBe(429);
    expect((await t.call('GET', SAS, { key: other })).status).toBe(200);
  });

  it('does not limit introspection, health, audit or fault routes, nor spend tokens on bad keys', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now, rateLimit: { requestsPerSecond: 1, burst: 1 } });
    const { token } = await t.mint('sa-1', { name: 'x' });
    for (let i = 0; i < 5; i++) {
      expect((await t.introspect(token)).json.active).toBe(true);
      expect((await t.call('GET', '/healthz')).status).toBe(200);
      expect((await t.call('GET', '/api/v1/audit/stats')).status).toBe(200);
      expect((await t.call('GET', '/_faults')).status).toBe(200);
      expect((await t.call('GET', SAS, { key: 'bad-key-000000' })).status).toBe(401);
    }
    clock.advance(1000);
    expect((await t.call('GET', SAS)).status).toBe(200);
  });

  it('is off with rateLimit: false or 0 rps', async () => {
    for (const rateLimit of [false, { requestsPerSecond: 0, burst: 1 }] as const) {
      t = await startTestApi({ rateLimit });
      for (let i = 0; i < 120; i++) expect((await t.call('GET', SAS)).status).toBe(200);
      await t.close();
    }
  });

  it('is on by default (50 rps, burst 100)', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now, rateLimit: undefined });
    const statuses = await Promise.all(Array.from({ length: 101 }, () => t.call('GET', SAS).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
  });
});
