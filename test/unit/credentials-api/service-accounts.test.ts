import { afterEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

const SAS = '/api/v1/auth/service-accounts';

describe('service accounts', () => {
  it('creates, lists and gets service accounts; name defaults to the id', async () => {
    t = await startTestApi();
    const created = await t.call('POST', SAS, { body: { id: 'ci-bot', name: 'CI bot', groups: ['eng', 'eng'] } });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ id: 'ci-bot', name: 'CI bot', groups: ['eng'], createdAt: expect.any(String) });
    await t.call('POST', SAS, { body: { id: 'plain' } });
    const list = await t.call('GET', SAS);
    expect(list.json.map((a: { id: string; name: string }) => [a.id, a.name])).toEqual([
      ['ci-bot', 'CI bot'],
      ['plain', 'plain'],
    ]);
    expect((await t.call('GET', `${SAS}/plain`)).json.id).toBe('plain');
  });

  it('rejects a duplicate id with 409 and unknown fields with 400', async () => {
    t = await startTestApi();
    await t.call('POST', SAS, { body: { id: 'a' } });
    const dup = await t.call('POST', SAS, { body: { id: 'a' } });
    expect(dup.status).toBe(409);
    expect(dup.json.error).toBe('service_account_exists');
    expect((await t.call('POST', SAS, { body: { id: 'b', role: 'admin' } })).status).toBe(400);
    expect((await t.call('POST', SAS, { body: { id: 'has space' } })).status).toBe(400);
  });

  it('auto-creates a missing service account on the first token POST', async () => {
    t = await startTestApi();
    await t.mint('auto-sa', { name: 'x' });
    const list = await t.call('GET', SAS);
    expect(list.json).toEqual([{ id: 'auto-sa', name: 'auto-sa', groups: [], createdAt: expect.any(String) }]);
  });

  it('deleting a service account revokes all its tokens', async () => {
    t = await startTestApi();
    const a = await t.mint('doomed', { name: 'a' });
    const b = await t.mint('doomed', { name: 'b' });
    const keep = await t.mint('kept', { name: 'a' });
    await t.call('POST', '/api/v1/audit/stats/reset');

    const res = await t.call('DELETE', `${SAS}/doomed`);
    expect(res.status).toBe(204);
    expect((await t.introspect(a.token)).json.active).toBe(false);
    expect((await t.introspect(b.token)).json.active).toBe(false);
    expect((await t.introspect(keep.token)).json.active).toBe(true);
    expect((await t.call('GET', '/api/v1/audit/stats')).json.revokes).toBe(2);
    expect((await t.call('GET', '/api/v1/audit/live-tokens')).json.map((v: { name: string }) => v.name)).toEqual(['a']);
    expect((await t.call('DELETE', `${SAS}/doomed`)).status).toBe(404);
  });

  it('a recreated service account does not bring old tokens back', async () => {
    t = await startTestApi({ autoCreateServiceAccounts: false });
    await t.call('POST', SAS, { body: { id: 'phoenix' } });
    const old = await t.mint('phoenix', { name: 'x' });
    await t.call('DELETE', `${SAS}/phoenix`);
    await t.call('POST', SAS, { body: { id: 'phoenix' } });
    expect((await t.call('GET', t.tokens('phoenix'))).json).toEqual([]);
    expect((await t.introspect(old.token)).json.active).toBe(false);
  });
});
