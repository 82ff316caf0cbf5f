import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

describe('audit: live tokens', () => {
  it('lists every unrevoked, unexpired token across service accounts, without values', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    const a = await t.mint('sa-1', { name: 'a', readOnly: true, description: 'ns/a', expiresAt: clock.iso(60_000) });
    await t.mint('sa-1', { name: 'short', expiresAt: clock.iso(1000) });
    await t.mint('sa-2', { name: 'b' });
    await t.mint('sa-2', { name: 'revoked' });
    await t.mint('sa-2', { name: 'suspended' });
    await t.call('DELETE', `${t.tokens('sa-2')}/revoked`);
    await t.call('PATCH', `${t.tokens('sa-2')}/suspended`, { body: { status: 'SUSPENDED' } });
    clock.advance(1000);

    const res = await t.call('GET', '/api/v1/audit/live-tokens');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(a.token);
    expect(res.json).toEqual([
      {
        serviceAccountId: 'sa-1',
        name: 'a',
        createdAt: clock.iso(-1000),
        expiresAt: clock.iso(59_000),
        readOnly: true,
        description: 'ns/a',
      },
      {
        serviceAccountId: 'sa-2',
        name: 'b',
        createdAt: expect.any(String),
        expiresAt: null,
        readOnly: false,
        description: null,
      },
      {
        serviceAccountId: 'sa-2',
        name: 'suspended',
        createdAt: expect.any(String),
        expiresAt: null,
        readOnly: false,
        description: null,
      },
    ]);
  });
});

describe('audit: stats', () => {
  it('counts exactly one mint and one revoke for a rotation', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'gen-1' });
    await t.call('POST', '/api/v1/audit/stats/reset');
    expect((await t.call('GET', '/api/v1/audit/stats')).json).toEqual({
      mints: 0,
      revokes: 0,
      requests: 0,
      rateLimited: 0,
    });

    // A rotation: mint the successor, then revoke the predecessor.
    await t.mint('sa-1', { name: 'gen-2' });
    await t.call('DELETE', `${t.tokens('sa-1')}/gen-1`);
    expect((await t.call('GET', '/api/v1/audit/stats')).json).toEqual({
      mints: 1,
      revokes: 1,
      requests: 2,
      rateLimited: 0,
    });
  });

  it('counts failed management requests but not failed mints or revokes', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'x' });
    await t.call('POST', '/api/v1/audit/stats/reset');
    await t.call('POST', t.tokens('sa-1'), { body: { name: 'x' } }); // 409
    await t.call('POST', t.tokens('sa-1'), { body: { bad: true } }); // 400
    await t.call('DELETE', `${t.tokens('sa-1')}/missing`); // 404
    await t.call('GET', t.tokens('sa-1'), { key: 'wrong-key-123' }); // 401
    await t.call('PUT', t.tokens('sa-1'), { body: {} }); // 405
    await t.call('POST', t.tokens('sa-1'), { body: 'x'.repeat(70_000) }); // 413
    await t.call('GET', '/healthz');
    await t.call('GET', '/nowhere');
    expect((await t.call('GET', '/api/v1/audit/stats')).json).toEqual({
      mints: 0,
      revokes: 0,
      requests: 6,
      rateLimited: 0,
    });
  });
});
