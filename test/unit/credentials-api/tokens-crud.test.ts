import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

describe('service-account tokens: create, list, get, patch, delete', () => {
  it('creates a token and returns the IOMETE create response with an rsa_live_ value', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    const res = await t.call('POST', t.tokens('sa-1'), {
      body: {
        name: 'rot-1',
        expiresAt: clock.iso(3_600_000),
        readOnly: true,
        scopes: ['read:catalog'],
        maxRps: 10,
        description: 'default/app',
      },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json)).toEqual([
      'name',
      'token',
      'createdAt',
      'expiresAt',
      'readOnly',
      'scopes',
      'maxRps',
      'status',
      'description',
    ]);
    expect(res.json.token).toMatch(/^rsa_live_[A-Za-z0-9_-]{43}$/);
    const { token: _value, ...rest } = res.json;
    expect(rest).toEqual({
      name: 'rot-1',
      createdAt: clock.iso(),
      expiresAt: clock.iso(3_600_000),
      readOnly: true,
      scopes: ['read:catalog'],
      maxRps: 10,
      status: 'ACTIVE',
      description: 'default/app',
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('defaults: never expires, not read-only, no scopes, no maxRps, no description', async () => {
    t = await startTestApi();
    const created = await t.mint('sa-1', { name: 'plain', expiresAt: null });
    expect(created).toMatchObject({ expiresAt: null, readOnly: false, scopes: [], maxRps: null, description: null });
  });

  it('shows the value exactly once: list, get and audit never include it', async () => {
    t = await startTestApi();
    const { token } = await t.mint('sa-1', { name: 'once' });
    const list = await t.call('GET', t.tokens('sa-1'));
    const one = await t.call('GET', `${t.tokens('sa-1')}/once`);
    const live = await t.call('GET', '/api/v1/audit/live-tokens');
    for (const res of [list, one, live]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(token);
      expect(res.text).not.toContain('"token"');
    }
    expect(one.json).not.toHaveProperty('token');
  });

  it('lists unrevoked tokens oldest first with lastUsedAt, and gets one by name', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'a' });
    await t.mint('sa-1', { name: 'b' });
    await t.mint('sa-2', { name: 'other' });
    const list = await t.call('GET', t.tokens('sa-1'));
    expect(list.json.map((v: { name: string }) => v.name)).toEqual(['a', 'b']);
    expect(list.json[0]).toEqual({
      name: 'a',
      createdAt: expect.any(String),
      expiresAt: null,
      readOnly: false,
      scopes: [],
      maxRps: null,
      status: 'ACTIVE',
      description: null,
      lastUsedAt: null,
    });
    const one = await t.call('GET', `${t.tokens('sa-1')}/b`);
    expect(one.json.name).toBe('b');
    expect((await t.call('GET', `${t.tokens('sa-1')}/missing`)).json.error).toBe('token_not_found');
  });

  it('lists expired tokens with their status unchanged', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    await t.mint('sa-1', { name: 'short', expiresAt: clock.iso(1000) });
    clock.advance(5000);
    const list = await t.call('GET', t.tokens('sa-1'));
    expect(list.json).toHaveLength(1);
    expect(list.json[0]).toMatchObject({ name: 'short', status: 'ACTIVE', expiresAt: clock.iso(-4000) });
  });

  it('patches status and maxRps', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'p', maxRps: 5 });
    const suspended = await t.call('PATCH', `${t.tokens('sa-1')}/p`, { body: { status: 'SUSPENDED', maxRps: null } });
    expect(suspended.status).toBe(200);
    expect(suspended.json).toMatchObject({ name: 'p', status: 'SUSPENDED', maxRps: null });
    const resumed = await t.call('PATCH', `${t.tokens('sa-1')}/p`, { body: { status: 'ACTIVE' } });
    expect(resumed.json).toMatchObject({ status: 'ACTIVE', maxRps: null });
    expect((await t.call('PATCH', `${t.tokens('sa-1')}/nope`, { body: {} })).status).toBe(404);
    expect((await t.call('PATCH', `${t.tokens('sa-1')}/p`, { body: { status: 'EXPIRED' } })).status).toBe(400);
  });

  it('deletes a token with 204, then 404 on the second delete, and frees the name', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'gone' });
    const first = await t.call('DELETE', `${t.tokens('sa-1')}/gone`);
    expect(first.status).toBe(204);
    expect(first.text).toBe('');
    const second = await t.call('DELETE', `${t.tokens('sa-1')}/gone`);
    expect(second.status).toBe(404);
    expect(second.json).toEqual({ error: 'token_not_found', message: expect.any(String) });
    expect((await t.call('GET', t.tokens('sa-1'))).json).toEqual([]);
    await t.mint('sa-1', { name: 'gone' });
  });

  it('rejects a duplicate live name with 409', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'dup' });
    const res = await t.call('POST', t.tokens('sa-1'), { body: { name: 'dup' } });
    expect(res.status).toBe(409);
    expect(res.json.error).toBe('token_exists');
    // Names are per service account.
    await t.mint('sa-2', { name: 'dup' });
  });

  it('replaces an expired token of the same name instead of a 409', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    const old = await t.mint('sa-1', { name: 'reuse', expiresAt: clock.iso(1000) });
    clock.advance(2000);
    const fresh = await t.mint('sa-1', { name: 'reuse' });
    expect(fresh.token).not.toBe(old.token);
    expect((await t.call('GET', t.tokens('sa-1'))).json).toHaveLength(1);
  });

  it('serves the domain-level base exactly like the admin base', async () => {
    t = await startTestApi();
    const domainBase = '/api/v1/domains/acme/auth/service-accounts/sa-1/tokens';
    const created = await t.call('POST', domainBase, { body: { name: 'dom' } });
    expect(created.status).toBe(201);
    expect((await t.call('GET', t.tokens('sa-1'))).json.map((v: { name: string }) => v.name)).toEqual(['dom']);
    expect((await t.call('GET', `/api/v1/domains/other/auth/service-accounts/sa-1/tokens/dom`)).status).toBe(200);
    expect((await t.call('PATCH', `${domainBase}/dom`, { body: { status: 'SUSPENDED' } })).status).toBe(200);
    expect((await t.call('DELETE', `${domainBase}/dom`)).status).toBe(204);
  });

  it('returns 404 for a missing service account when auto-creation is off', async () => {
    t = await startTestApi({ autoCreateServiceAccounts: false });
    const res = await t.call('POST', t.tokens('ghost'), { body: { name: 'x' } });
    expect(res.status).toBe(404);
    expect(res.json.error).toBe('service_account_not_found');
    expect((await t.call('GET', t.tokens('ghost'))).status).toBe(404);
  });
});

describe('request validation', () => {
  it('rejects unknown fields with 400 naming them', async () => {
    t = await startTestApi();
    const res = await t.call('POST', t.tokens('sa-1'), { body: { name: 'x', expires_at: '2030-01-01T00:00:00Z' } });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
    expect(res.json.message).toContain('expires_at');
    const patch = await t.call('PATCH', `${t.tokens('sa-1')}/x`, { body: { readOnly: true } });
    expect(patch.status).toBe(400);
  });

  it.each([
    ['empty name', { name: '' }],
    ['name with a slash', { name: 'a/b' }],
    ['name over 128 chars', { name: 'a'.repeat(129) }],
    ['zone-less expiresAt', { name: 'x', expiresAt: '2099-01-01T00:00:00' }],
    ['non-date expiresAt', { name: 'x', expiresAt: 'tomorrow' }],
    ['non-boolean readOnly', { name: 'x', readOnly: 'yes' }],
    ['fractional maxRps', { name: 'x', maxRps: 1.5 }],
    ['description over 1024 chars', { name: 'x', description: 'd'.repeat(1025) }],
    ['array body', [{ name: 'x' }]],
  ])('rejects %s with 400', async (_label, body) => {
    t = await startTestApi();
    const res = await t.call('POST', t.tokens('sa-1'), { body });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });

  it('rejects an expiresAt that is not in the future', async () => {
    const clock = manualClock();
    t = await startTestApi({ now: clock.now });
    const res = await t.call('POST', t.tokens('sa-1'), { body: { name: 'x', expiresAt: clock.iso() } });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain('future');
  });

  it('accepts an expiresAt with a numeric offset', async () => {
    t = await startTestApi();
    const created = await t.mint('sa-1', { name: 'x', expiresAt: '2099-06-01T12:00:00+02:00' });
    expect(created.expiresAt).toBe('2099-06-01T10:00:00.000Z');
  });

  it('does not auto-create a service account for an invalid body', async () => {
    t = await startTestApi();
    await t.call('POST', t.tokens('never'), { body: { name: '' } });
    expect((await t.call('GET', '/api/v1/auth/service-accounts')).json).toEqual([]);
  });
});
