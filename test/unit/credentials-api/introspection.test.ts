import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

describe('POST /introspect', () => {
  it('reports an active token with its metadata, without the admin key', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    const { token } = await t.mint('sa-1', {
      name: 'live',
      readOnly: true,
      scopes: ['s1'],
      expiresAt: clock.iso(60_000),
    });
    const res = await t.introspect(token);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      active: true,
      serviceAccountId: 'sa-1',
      name: 'live',
      readOnly: true,
      scopes: ['s1'],
      expiresAt: clock.iso(60_000),
      status: 'ACTIVE',
    });
  });

  it('updates lastUsedAt on use', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    const { token } = await t.mint('sa-1', { name: 'used' });
    clock.advance(1234);
    await t.introspect(token);
    const view = await t.call('GET', `${t.tokens('sa-1')}/used`);
    expect(view.json.lastUsedAt).toBe(clock.iso());
  });

  it('reports an expired token inactive', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    const { token } = await t.mint('sa-1', { name: 'short', expiresAt: clock.iso(1000) });
    expect((await t.introspect(token)).json.active).toBe(true);
    clock.advance(1000);
    expect((await t.introspect(token)).json).toEqual({ active: false });
  });

  it('reports a suspended token inactive, and active again once resumed', async () => {
    t = await startTestApi();
    const { token } = await t.mint('sa-1', { name: 'sus' });
    await t.call('PATCH', `${t.tokens('sa-1')}/sus`, { body: { status: 'SUSPENDED' } });
    expect((await t.introspect(token)).json).toEqual({ active: false });
    await t.call('PATCH', `${t.tokens('sa-1')}/sus`, { body: { status: 'ACTIVE' } });
    expect((await t.introspect(token)).json.active).toBe(true);
  });

  it('reports a revoked token inactive', async () => {
    t = await startTestApi();
    const { token } = await t.mint('sa-1', { name: 'rev' });
    await t.call('DELETE', `${t.tokens('sa-1')}/rev`);
    expect((await t.introspect(token)).json).toEqual({ active: false });
  });

  it('reports an unknown value inactive, and the admin key is not a token', async () => {
    t = await startTestApi();
    expect((await t.introspect('rsa_live_nope')).json).toEqual({ active: false });
    expect((await t.introspect(t.api.adminKey)).json).toEqual({ active: false });
  });

  it('answers 401 without a bearer token', async () => {
    t = await startTestApi();
    const res = await t.call('POST', '/introspect', { key: null });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('does not count as a management request', async () => {
    t = await startTestApi();
    const { token } = await t.mint('sa-1', { name: 'x' });
    await t.call('POST', '/api/v1/audit/stats/reset');
    await t.introspect(token);
    expect((await t.call('GET', '/api/v1/audit/stats')).json.requests).toBe(0);
  });
});
