import { afterEach, describe, expect, it } from 'vitest';
import { FaultInjector } from '../../../src/credentials-api/faults.ts';
import { createRandom } from '../../../src/credentials-api/random.ts';
import { manualClock, startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

const SAS = '/api/v1/auth/service-accounts';
const setFaults = (body: unknown) => t.call('PUT', '/_faults', { body });
const stats = async () => (await t.call('GET', '/api/v1/audit/stats')).json;

describe('fault injection configuration', () => {
  it('PUT replaces the configuration, GET shows it, DELETE clears it', async () => {
    t = await startTestApi();
    expect((await t.call('GET', '/_faults')).json).toEqual({
      latencyMs: 0,
      errorRate: 0,
      timeoutRate: 0,
      rateLimitNext: null,
      malformedRate: 0,
      operations: null,
      maxTokenLifetimeSeconds: null,
    });
    const put = await setFaults({ errorRate: 0.5, rateLimitNext: { count: 2 } });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({
      latencyMs: 0,
      errorRate: 0.5,
      timeoutRate: 0,
      rateLimitNext: { count: 2, retryAfterSeconds: 1 },
      malformedRate: 0,
      operations: null,
      maxTokenLifetimeSeconds: null,
    });
    expect((await setFaults({ latencyMs: 5 })).json).toMatchObject({ latencyMs: 5, errorRate: 0, rateLimitNext: null });
    expect((await t.call('DELETE', '/_faults')).status).toBe(204);
    expect((await t.call('GET', '/_faults')).json.latencyMs).toBe(0);
  });

  it('validates the body strictly', async () => {
    t = await startTestApi();
    expect((await setFaults({ errorRate: 2 })).status).toBe(400);
    expect((await setFaults({ errorrate: 0.5 })).status).toBe(400);
    expect((await setFaults({ rateLimitNext: { count: -1 } })).status).toBe(400);
    expect((await setFaults({ operations: ['mint', 'steal'] })).status).toBe(400);
    expect((await setFaults({ operations: [] })).status).toBe(400);
    expect((await setFaults({ maxTokenLifetimeSeconds: 0 })).status).toBe(400);
  });
});

describe('aimed faults', () => {
  it('operations aims faults at the listed operations and leaves the others alone', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'kept' });
    await setFaults({ errorRate: 1, operations: ['revoke', 'lookup'] });
    expect((await t.call('POST', t.tokens('sa-1'), { body: { name: 'minted' } })).status).toBe(201);
    expect((await t.call('GET', t.tokens('sa-1'))).status).toBe(200);
    expect((await t.call('GET', `${t.tokens('sa-1')}/kept`)).status).toBe(503);
    expect((await t.call('DELETE', `${t.tokens('sa-1')}/kept`)).status).toBe(503);
    await setFaults({ errorRate: 1, operations: ['mint'] });
    expect((await t.call('POST', t.tokens('sa-1'), { body: { name: 'refused' } })).status).toBe(503);
    expect((await t.call('DELETE', `${t.tokens('sa-1')}/kept`)).status).toBe(204);
    expect((await stats()).mints).toBe(2);
  });
});

describe('token lifetime cap', () => {
  it('grants at most maxTokenLifetimeSeconds, to tokens asked to live longer or forever', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now, maxTokenLifetimeSeconds: 3600 });
    const forever = await t.mint('sa-1', { name: 'forever' });
    expect(forever['expiresAt']).toBe(clock.iso(3_600_000));
    const long = await t.mint('sa-1', { name: 'long', expiresAt: clock.iso(86_400_000) });
    expect(long['expiresAt']).toBe(clock.iso(3_600_000));
    const short = await t.mint('sa-1', { name: 'short', expiresAt: clock.iso(60_000) });
    expect(short['expiresAt']).toBe(clock.iso(60_000));
  });

  it('is switched at run time through /_faults, and DELETE /_faults returns to the start-time value', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now, maxTokenLifetimeSeconds: 3600 });
    expect((await setFaults({ maxTokenLifetimeSeconds: 30 })).json.maxTokenLifetimeSeconds).toBe(30);
    expect((await t.mint('sa-1', { name: 'a' }))['expiresAt']).toBe(clock.iso(30_000));
    // Other faults leave the cap at its start-time value; null lifts it.
    expect((await setFaults({ latencyMs: 1 })).json.maxTokenLifetimeSeconds).toBe(3600);
    expect((await setFaults({ maxTokenLifetimeSeconds: null })).json.maxTokenLifetimeSeconds).toBeNull();
    expect((await t.mint('sa-1', { name: 'b' }))['expiresAt']).toBeNull();
    await t.call('DELETE', '/_faults');
    expect((await t.call('GET', '/_faults')).json.maxTokenLifetimeSeconds).toBe(3600);
  });
});

describe('fault types', () => {
  it('latencyMs delays management requests only', async () => {
    t = await startTestApi();
    await setFaults({ latencyMs: 150 });
    let started = performance.now();
    expect((await t.call('GET', SAS)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    started = performance.now();
    await t.call('GET', '/healthz');
    await t.call('GET', '/api/v1/audit/stats');
    expect(performance.now() - started).toBeLessThan(140);
  });

  it('latencyMs drops, without effect, a request whose client gave up during the delay', async () => {
    t = await startTestApi();
    await setFaults({ latencyMs: 300 });
    const gaveUp = await t
      .call('POST', t.tokens('sa-1'), { body: { name: 'x' }, signal: AbortSignal.timeout(100) })
      .then(
        () => false,
        () => true,
      );
    expect(gaveUp).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await t.call('DELETE', '/_faults');
    expect((await stats()).mints).toBe(0);
    expect((await t.call('GET', SAS)).json).toEqual([]);
  });

  it('errorRate 1 answers 503 without effect', async () => {
    t = await startTestApi();
    await setFaults({ errorRate: 1 });
    const res = await t.call('POST', t.tokens('sa-1'), { body: { name: 'x' } });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: 'service_unavailable', message: expect.any(String) });
    await t.call('DELETE', '/_faults');
    expect((await t.call('GET', SAS)).json).toEqual([]);
    expect((await stats()).mints).toBe(0);
  });

  it('timeoutRate 1 never answers: the client gives up, nothing happens, the server keeps serving', async () => {
    t = await startTestApi();
    await setFaults({ timeoutRate: 1 });
    const outcome = await t
      .call('POST', t.tokens('sa-1'), { body: { name: 'x' }, signal: AbortSignal.timeout(200) })
      .then(
        (res) => `answered ${res.status}`,
        (error: Error) => error.name,
      );
    expect(outcome).toMatch(/AbortError|TimeoutError/);
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    await t.call('DELETE', '/_faults');
    expect((await t.call('GET', SAS)).json).toEqual([]);
  });

  it('close() does not wait for a request held by a timeout fault', async () => {
    t = await startTestApi();
    await setFaults({ timeoutRate: 1 });
    const pending = t.call('GET', SAS).catch(() => 'dropped');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await t.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('dropped');
  });

  it('rateLimitNext rate-limits exactly the next n management requests with its Retry-After', async () => {
    t = await startTestApi();
    await setFaults({ rateLimitNext: { count: 2, retryAfterSeconds: 7 } });
    const first = await t.call('POST', t.tokens('sa-1'), { body: { name: 'x' } });
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('7');
    expect(first.json.error).toBe('rate_limited');
    // Admin routes are not consumed.
    expect((await t.call('GET', '/_faults')).json.rateLimitNext).toEqual({ count: 1, retryAfterSeconds: 7 });
    expect((await t.call('GET', SAS)).status).toBe(429);
    expect((await t.call('POST', t.tokens('sa-1'), { body: { name: 'x' } })).status).toBe(201);
    expect((await t.call('GET', '/_faults')).json.rateLimitNext).toBeNull();
    expect(await stats()).toMatchObject({ mints: 1, rateLimited: 2, requests: 3 });
  });

  it('malformedRate 1 runs the request, then answers 200 with truncated JSON holding no token value', async () => {
    t = await startTestApi();
    await setFaults({ malformedRate: 1 });
    const res = await t.call('POST', t.tokens('sa-1'), { body: { name: 'lost', description: 'd'.repeat(100) } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(res.text)).toThrow();
    expect(res.text).not.toContain('rsa_live_');
    expect(res.text).not.toContain('"token"');
    await t.call('DELETE', '/_faults');
    // The mint happened: the client recovers it by name.
    const view = await t.call('GET', `${t.tokens('sa-1')}/lost`);
    expect(view.status).toBe(200);
    expect((await stats()).mints).toBe(1);
  });

  it('malformedRate garbles empty answers too, but leaves errors alone', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'x' });
    await setFaults({ malformedRate: 1 });
    const deleted = await t.call('DELETE', `${t.tokens('sa-1')}/x`);
    expect(deleted.status).toBe(200);
    expect(() => JSON.parse(deleted.text)).toThrow();
    expect((await t.call('DELETE', `${t.tokens('sa-1')}/x`)).status).toBe(404);
  });

  it('never applies to introspection, health, audit or fault routes', async () => {
    t = await startTestApi();
    const { token } = await t.mint('sa-1', { name: 'x' });
    await setFaults({ errorRate: 1, rateLimitNext: { count: 100 } });
    expect((await t.introspect(token)).json.active).toBe(true);
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    expect((await t.call('GET', '/api/v1/audit/live-tokens')).status).toBe(200);
    expect((await t.call('GET', '/api/v1/audit/stats')).status).toBe(200);
    expect((await t.call('POST', '/api/v1/audit/stats/reset')).status).toBe(204);
    expect((await t.call('GET', '/_faults')).json.rateLimitNext.count).toBe(100);
  });

  it('a seed makes probabilistic faults reproducible', async () => {
    t = await startTestApi();
    const run = async () => {
      await setFaults({ errorRate: 0.5, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await t.call('GET', SAS)).status);
      return statuses;
    };
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
  });
});

describe('FaultInjector', () => {
  it('draws from the seeded PRNG in a fixed order and only for rates that are set', () => {
    const decide = (seed: number) => {
      const injector = new FaultInjector(createRandom(seed));
      injector.set({ timeoutRate: 0.2, errorRate: 0.3, malformedRate: 0.3 });
      return Array.from({ length: 50 }, () => injector.decide().action.kind);
    };
    const a = decide(7);
    expect(decide(7)).toEqual(a);
    expect(new Set(a)).toEqual(new Set(['none', 'timeout', 'error', 'malformed']));
    const never = new FaultInjector(createRandom(1));
    expect(Array.from({ length: 100 }, () => never.decide().action.kind).every((k) => k === 'none')).toBe(true);
  });
});
