import { afterEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

const SAS = '/api/v1/auth/service-accounts';
const SAME_GROUP = 'You must be in the same group as this service account to view and manage tokens';
const ENG_KEY = 'eng-key-0123456789';
const OPS_KEY = 'ops-key-0123456789';

async function withGroups() {
  t = await startTestApi({
    keys: [
      { key: ENG_KEY, groups: ['eng'] },
      { key: OPS_KEY, groups: ['ops'] },
    ],
  });
  await t.call('POST', SAS, { body: { id: 'eng-bot', groups: ['eng', 'data'] } });
  await t.call('POST', SAS, { body: { id: 'open-bot' } });
}

describe('management authentication', () => {
  it('answers 401 without a key, with a wrong key, and with a malformed header', async () => {
    t = await startTestApi();
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-key' },
      { authorization: `Basic ${t.api.adminKey}` },
      { 'x-api-token': 'wrong-key' },
    ];
    for (const headers of cases) {
      const res = await t.call('GET', SAS, { key: null, headers });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: 'unauthorized', message: expect.any(String) });
    }
    expect((await t.call('GET', '/api/v1/audit/stats', { key: null })).status).toBe(401);
    expect((await t.call('GET', '/_faults', { key: null })).status).toBe(401);
  });

  it('accepts the key as Authorization: Bearer or X-API-Token', async () => {
    t = await startTestApi({ adminKey: 'configured-admin-key' });
    expect(t.api.adminKey).toBe('configured-admin-key');
    expect((await t.call('GET', SAS)).status).toBe(200);
    expect((await t.call('GET', SAS, { key: null, headers: { 'x-api-token': 'configured-admin-key' } })).status).toBe(
      200,
    );
  });

  it('a token value is not a management key', async () => {
    t = await startTestApi();
    const { token } = await t.mint('sa-1', { name: 'x' });
    expect((await t.call('GET', SAS, { key: token })).status).toBe(401);
  });

  it('generates a distinct admin key when none is given', async () => {
    t = await startTestApi();
    const other = await startTestApi();
    try {
      expect(t.api.adminKey).toMatch(/^rsa_admin_/);
      expect(other.api.adminKey).not.toBe(t.api.adminKey);
      expect((await t.call('GET', SAS, { key: other.api.adminKey })).status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('same-group rule', () => {
  it('forbids a key sharing no group with the service account, with the IOMETE message', async () => {
    await withGroups();
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['POST', '', { name: 'x' }],
      ['GET', '/x', undefined],
      ['PATCH', '/x', { status: 'SUSPENDED' }],
      ['DELETE', '/x', undefined],
    ] as const) {
      const res = await t.call(method, `${t.tokens('eng-bot')}${suffix}`, { key: OPS_KEY, body });
      expect(res.status, `${method} ${suffix}`).toBe(403);
      expect(res.json).toEqual({ error: 'forbidden', message: SAME_GROUP });
    }
    expect((await t.call('DELETE', `${SAS}/eng-bot`, { key: OPS_KEY })).status).toBe(403);
  });

  it('allows a key sharing a group, and the admin key for every account', async () => {
    await withGroups();
    const minted = await t.mint('eng-bot', { name: 'x' }, ENG_KEY);
    expect(minted.name).toBe('x');
    expect((await t.call('GET', t.tokens('eng-bot'), { key: ENG_KEY })).json).toHaveLength(1);
    expect((await t.call('GET', t.tokens('eng-bot'))).json).toHaveLength(1);
  });

  it('lets any key manage a service account without groups', async () => {
    await withGroups();
    await t.mint('open-bot', { name: 'x' }, OPS_KEY);
    await t.mint('open-bot', { name: 'y' }, ENG_KEY);
    expect((await t.call('GET', t.tokens('open-bot'), { key: OPS_KEY })).json).toHaveLength(2);
  });

  it('answers 404 before 403 for a missing account', async () => {
    t = await startTestApi({ keys: [{ key: OPS_KEY, groups: ['ops'] }], autoCreateServiceAccounts: false });
    expect((await t.call('GET', t.tokens('nobody'), { key: OPS_KEY })).status).toBe(404);
  });

  it('limits the live-token audit to accounts the key may manage', async () => {
    await withGroups();
    await t.mint('eng-bot', { name: 'e' });
    await t.mint('open-bot', { name: 'o' });
    const names = async (key: string) =>
      (await t.call('GET', '/api/v1/audit/live-tokens', { key })).json.map((v: { name: string }) => v.name);
    expect(await names(OPS_KEY)).toEqual(['o']);
    expect(await names(ENG_KEY)).toEqual(['e', 'o']);
    expect(await names(t.api.adminKey)).toEqual(['e', 'o']);
  });
});
