import { describe, expect, it } from 'vitest';
import { ProviderError, transient } from '../../../src/providers/errors.ts';
import type { IssueRequest } from '../../../src/providers/types.ts';
import { FakeProvider } from '../../support/fake-provider.ts';

const req = (name: string, extra: Partial<IssueRequest> = {}): IssueRequest => ({
  name,
  serviceAccount: 'sa',
  readOnly: false,
  scopes: [],
  attributes: {},
  owner: { namespace: 'ns', name: 'tok', uid: 'u1' },
  ...extra,
});

describe('FakeProvider', () => {
  it('counts mints and revokes and tracks live tokens by name', async () => {
    const fake = new FakeProvider();
    const a = await fake.issue(req('a'));
    await fake.issue(req('b'));
    expect(fake.mints).toBe(2);
    expect(fake.liveTokens().sort()).toEqual(['a', 'b']);
    await fake.revoke({ id: a.id });
    expect(fake.revokes).toBe(1);
    expect(fake.liveTokens()).toEqual(['b']);
    expect(fake.valueOf('b')).toMatch(/^fake_/);
  });

  it('revoking an unknown id succeeds (idempotent)', async () => {
    const fake = new FakeProvider();
    await expect(fake.revoke({ id: 'nope' })).resolves.toBeUndefined();
  });

  it('issuing a live name again throws Conflict, after revoke it succeeds', async () => {
    const fake = new FakeProvider();
    const t = await fake.issue(req('a'));
    await expect(fake.issue(req('a'))).rejects.toMatchObject({ code: 'Conflict' });
    await fake.revoke({ id: t.id });
    await expect(fake.issue(req('a'))).resolves.toMatchObject({ name: 'a' });
  });

  it('failNext fails exactly the next n matching calls', async () => {
    const fake = new FakeProvider();
    fake.failNext(2, () => transient('boom'), { operations: ['issue'] });
    await expect(fake.check()).resolves.toBeUndefined();
    await expect(fake.issue(req('a'))).rejects.toSatisfy((e) => ProviderError.is(e) && e.code === 'Transient');
    await expect(fake.issue(req('a'))).rejects.toThrow('boom');
    await expect(fake.issue(req('a'))).resolves.toMatchObject({ id: 'a' });
    expect(fake.mints).toBe(1);
  });

  it('capabilities drive behaviour: no revoke → Unsupported, no lookup → undefined, no list → Unsupported', async () => {
    const fake = new FakeProvider({ capabilities: { revoke: false, lookupByName: false, list: false } });
    const t = await fake.issue(req('a'));
    await expect(fake.revoke({ id: t.id })).rejects.toMatchObject({ code: 'Unsupported' });
    await expect(fake.lookup({ name: 'a' })).resolves.toBeUndefined();
    await expect(fake.list('sa')).rejects.toMatchObject({ code: 'Unsupported' });
  });

  it('expiry follows the injected clock', async () => {
    let now = 1_000_000;
    const fake = new FakeProvider({ now: () => now, capabilities: { expiry: 'always' }, defaultLifetimeSeconds: 60 });
    const t = await fake.issue(req('a'));
    expect(t.expiresAt?.getTime()).toBe(now + 60_000);
    expect(await fake.lookup({ name: 'a' })).toMatchObject({ active: true });
    now += 61_000;
    expect(await fake.lookup({ name: 'a' })).toBeUndefined();
    expect(fake.liveTokens()).toEqual([]);
  });

  it('the issued value never prints', async () => {
    const fake = new FakeProvider();
    const t = await fake.issue(req('a'));
    expect(JSON.stringify(t)).not.toContain(t.value.reveal());
    expect(String(t.value)).toBe('[REDACTED]');
  });
});
