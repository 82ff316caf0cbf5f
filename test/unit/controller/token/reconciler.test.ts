import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../../src/api/v1alpha1/index.ts';
import { TokenReconciler } from '../../../../src/controller/token/reconciler.ts';
import { permanent, transient } from '../../../../src/providers/errors.ts';
import { SecretValue } from '../../../../src/providers/secret-value.ts';
import { FakeProvider, MemoryKube, newToken, refusal } from '../../../support/token-deps.ts';

const T0 = new Date('2026-11-26T12:00:00Z');

function setup(spec: Record<string, unknown> = {}, capabilities = {}) {
  const kube = new MemoryKube(newToken(spec));
  const provider = new FakeProvider({ now: () => clockNow(), capabilities });
  const env = kube.deps(provider, { now: T0 });
  const clockNow = () => env.clock.now();
  const reconciler = new TokenReconciler(env.deps);
  const run = () => reconciler.reconcile(kube.token);
  const condition = (type: string) => kube.token.status?.conditions?.find((c) => c.type === type);
  return { kube, provider, ...env, reconciler, run, condition };
}

const kinds = (kube: MemoryKube) => kube.realWrites().map((w) => w.kind);

describe('token reconciler: a new token', () => {
  it('is Ready after three writes: journal with finalizer, Secret, status; the Event comes after the status', async () => {
    const t = setup();
    await t.run();
    expect(kinds(t.kube)).toEqual(['token-metadata', 'secret-create', 'token-status']);
    expect(t.kube.token.metadata.finalizers).toEqual(['tokensync.io/revoke']);
    const journal = JSON.parse(t.kube.token.metadata.annotations!['tokensync.io/pending-mint']!);
    expect(journal).toMatchObject({ revision: 1, name: 'reporting-11111111-r1' });
    expect(t.kube.token.status).toMatchObject({
      revision: 1,
      tokenName: 'reporting-11111111-r1',
      secretName: 'reporting',
    });
    expect(t.condition('Ready')).toMatchObject({ status: 'True', reason: 'Issued' });
    expect(t.condition('Issuing')).toMatchObject({ status: 'False', reason: 'Idle' });
    expect(t.events.map((e) => e.reason)).toEqual(['Issued']);
    expect(t.provider.mints).toBe(1);
  });

  it('writes nothing and calls nothing on the next reconcile (restart, resync)', async () => {
    const t = setup();
    await t.run();
    const writes = t.kube.writes.length;
    const calls = t.provider.calls.length;
    await t.run();
    await t.run();
    expect(t.kube.writes.length).toBe(writes);
    expect(t.provider.calls.length).toBe(calls);
  });

  it('never puts the token value in status, annotations or Events', async () => {
    const t = setup();
    await t.run();
    const value = t.provider.valueOf('reporting-11111111-r1')!;
    expect(JSON.stringify(t.kube.token)).not.toContain(value);
    expect(JSON.stringify(t.events)).not.toContain(value);
  });
});

describe('token reconciler: a Secret write the API server refuses', () => {
  it('revokes the fresh token, then dry-runs before every retry and mints nothing until the write can succeed', async () => {
    const t = setup();
    t.kube.refuseSecretWrite = () => refusal(403, 'secrets "reporting" is forbidden: exceeded quota');
    await t.run();
    expect(t.provider.mints).toBe(1);
    expect(t.provider.liveTokens()).toEqual([]);
    expect(t.kube.token.status).toMatchObject({ lastFailureReason: 'SecretRejected', failureCount: 1 });
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'SecretRejected' });
    expect(t.condition('Ready')!.message).toContain('exceeded quota');

    for (let i = 0; i < 3; i++) {
      t.clock.set(Date.parse(t.kube.token.status!.nextAttemptAt!) + 1);
      await t.run();
    }
    expect(t.provider.mints).toBe(1); // the dry runs failed: no further mint
    expect(t.kube.token.status?.failureCount).toBe(4);

    t.kube.refuseSecretWrite = undefined;
    t.clock.set(Date.parse(t.kube.token.status!.nextAttemptAt!) + 1);
    await t.run();
    expect(t.provider.mints).toBe(2);
    expect(t.condition('Ready')).toMatchObject({ status: 'True' });
    expect(t.kube.token.status?.lastFailureReason).toBeUndefined();
  });

  it('dry-runs before the first mint when the provider cannot revoke, so a refusal leaks nothing', async () => {
    const t = setup({}, { revoke: false, mode: 'exchange' });
    t.kube.refuseSecretWrite = () => refusal(422, 'Secret "reporting" is invalid');
    await t.run();
    expect(t.provider.mints).toBe(0);
    expect(t.kube.token.status?.lastFailureReason).toBe('SecretRejected');
  });
});

describe('token reconciler: a write to the resource itself the API server refuses', () => {
  it('mints nothing, says so in Ready and a Warning, and backs off as for any refusal a human must fix', async () => {
    const t = setup();
    t.kube.refuseMetadataWrite = () =>
      refusal(403, 'serviceaccounttokens "reporting" is forbidden: ValidatingAdmissionPolicy denied the request');
    await t.run();
    expect(t.provider.mints).toBe(0);
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'WriteRejected' });
    expect(t.condition('Ready')!.message).toContain('ValidatingAdmissionPolicy denied');
    expect(t.events.map((e) => e.reason)).toContain('WriteRejected');
    const status = t.kube.token.status!;
    expect(Date.parse(status.nextAttemptAt!) - t.clock.now()).toBeGreaterThanOrEqual(20_000);

    t.kube.refuseMetadataWrite = undefined;
    t.clock.set(Date.parse(status.nextAttemptAt!) + 1);
    await t.run();
    expect(t.provider.mints).toBe(1);
    expect(t.condition('Ready')).toMatchObject({ status: 'True', reason: 'Issued' });
  });
});

describe('token reconciler: the value is checked before it lands', () => {
  it.each([
    ['an empty value', '', /empty token value/],
    ['a newline', 'abc\ndef', /control character \(U\+000A/],
    ['more than a Secret can hold', 'x'.repeat(1024 * 1024 + 1), /rendered Secret data is over 524288 bytes/],
  ])('refuses %s, revokes the token and backs off', async (_what, value, message) => {
    const t = setup();
    const issue = t.provider.issue.bind(t.provider);
    t.provider.issue = async (request) => ({ ...(await issue(request)), value: new SecretValue(value) });
    await t.run();
    expect(t.provider.mints).toBe(1);
    expect(t.provider.liveTokens()).toEqual([]);
    expect(t.kube.secrets.size).toBe(0);
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'ValueRejected' });
    expect(t.condition('Ready')!.message).toMatch(message);
    expect(t.events.some((e) => e.reason === 'ValueRejected' && !e.message.includes(value || '\u0000'))).toBe(true);
  });
});

describe('token reconciler: an upstream lifetime shorter than the renewal window', () => {
  it('renews at 2/3 of the granted lifetime, says so once in a condition and a Warning, and never loops', async () => {
    const t = setup({ lifetime: '168h', renewBefore: '24h' });
    const issue = t.provider.issue.bind(t.provider);
    // Like Customer.io: whatever is asked, the JWT lives an hour.
    t.provider.issue = async (request) => ({
      ...(await issue(request)),
      expiresAt: new Date(t.clock.now() + 3_600_000),
    });
    await t.run();
    expect(t.kube.token.status?.renewalTime).toBe('2026-11-26T12:40:00Z');
    expect(t.condition('LifetimeHonored')).toMatchObject({ status: 'False', reason: 'UpstreamLifetimeShorter' });
    expect(t.condition('LifetimeHonored')!.message).toContain('granted 1h');
    expect(t.events.filter((e) => e.reason === 'LifetimeShortened')).toHaveLength(1);
    // Reconciles before the renewal time mint nothing and repeat no Warning.
    for (const minutes of [1, 10, 39]) {
      t.clock.set(T0.getTime() + minutes * 60_000);
      await t.run();
    }
    expect(t.provider.mints).toBe(1);
    expect(t.events.filter((e) => e.reason === 'LifetimeShortened')).toHaveLength(1);
    // Over a day of renewals: one mint per 40 minutes, bounded by the granted lifetime, not a loop.
    for (let i = 0; i < 36; i++) {
      t.clock.set(Date.parse(t.kube.token.status!.renewalTime!) + 1);
      await t.run();
    }
    expect(t.provider.mints).toBe(37);
    expect(t.clock.now() - T0.getTime()).toBeGreaterThan(23 * 3_600_000);
  });

  it('says when the credentials API takes no lifetime and suggests rotation.every', async () => {
    const t = setup({ lifetime: '2m', renewBefore: undefined }, { expiry: 'never' });
    await t.run();
    expect(t.condition('LifetimeHonored')).toMatchObject({ status: 'False', reason: 'LifetimeNotSupported' });
    expect(t.condition('LifetimeHonored')!.message).toContain('rotation.every');
    expect(t.kube.token.status?.renewalTime).toBeUndefined();
  });
});

describe('token reconciler: readiness never lies', () => {
  function expiredToken(t: ReturnType<typeof setup>): Promise<unknown> {
    return t.run().then(() => t.clock.set(Date.parse(t.kube.token.status!.expiresAt!) + 1000));
  }

  it('reports Expired when the token expired while renewals fail upstream', async () => {
    const t = setup({ lifetime: '1h' });
    await expiredToken(t);
    t.provider.failNext(100, transient('503 from upstream'), { operations: ['issue'] });
    await t.run();
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'Expired' });
    expect(t.condition('Ready')!.message).toContain('503 from upstream');
    expect(t.condition('Issuing')).toMatchObject({ status: 'True', reason: 'Expired' });
  });

  it('reports Expired even when an interrupted mint cannot be settled because the provider is gone', async () => {
    const t = setup({ lifetime: '1h' });
    await t.run();
    // A later mint was interrupted (journal open), then the provider went away and the token expired.
    t.clock.set(Date.parse(t.kube.token.status!.renewalTime!) + 1);
    t.provider.failNext(1, transient('timeout'), { operations: ['issue'] });
    await t.run();
    expect(t.kube.token.metadata.annotations!['tokensync.io/pending-mint']).toContain('"revision":2');
    t.setResolution({ ok: false, reason: 'ProviderNotReady', message: 'CredentialsProvider p not found' });
    t.clock.set(Date.parse(t.kube.token.status!.expiresAt!) + 1000);
    await t.run();
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'Expired' });
  });

  it('keeps a live token Ready while its rotation fails, and says why in Issuing', async () => {
    const t = setup({ lifetime: '1h' });
    await t.run();
    t.clock.set(Date.parse(t.kube.token.status!.renewalTime!) + 1);
    t.provider.failNext(1, permanent('401 invalid admin key'), { operations: ['issue'] });
    await t.run();
    expect(t.condition('Ready')).toMatchObject({ status: 'True', reason: 'Issued' });
    expect(t.condition('Issuing')).toMatchObject({ status: 'True', reason: 'Renewing' });
    expect(t.condition('Issuing')!.message).toContain('401 invalid admin key');
    expect(t.condition('Issuing')!.message).toContain('next attempt at');
  });

  it('does not call upstream before nextAttemptAt, whatever wakes it', async () => {
    const t = setup();
    t.provider.failNext(1, transient('503'), { operations: ['issue'] });
    await t.run();
    const calls = t.provider.calls.length;
    t.clock.advance(100);
    await t.run();
    await t.run();
    expect(t.provider.calls.length).toBe(calls);
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'UpstreamError' });
  });
});

describe('token reconciler: interrupted mints', () => {
  it('closes the journal on a definite refusal, so nothing is looked up next time', async () => {
    const t = setup();
    t.provider.failNext(1, permanent('403 same group required'), { operations: ['issue'] });
    await t.run();
    expect(t.kube.token.status?.revision).toBe(1);
    t.clock.set(Date.parse(t.kube.token.status!.nextAttemptAt!) + 1);
    await t.run();
    expect(t.provider.calls.filter((c) => c.operation === 'lookup')).toHaveLength(0);
    expect(t.kube.token.status?.tokenName).toBe('reporting-11111111-r2');
  });

  it('finds and revokes what a timed-out mint created, then mints a new revision', async () => {
    const t = setup();
    // The mint reaches upstream but the answer is lost.
    const issue = t.provider.issue.bind(t.provider);
    t.provider.issue = async (request) => {
      await issue(request);
      throw transient('timeout after the request was sent');
    };
    await t.run();
    expect(t.provider.liveTokens()).toEqual(['reporting-11111111-r1']);
    t.provider.issue = issue;
    t.clock.set(Date.parse(t.kube.token.status!.nextAttemptAt!) + 1);
    await t.run();
    expect(t.provider.liveTokens()).toEqual(['reporting-11111111-r2']);
    expect(t.kube.token.status).toMatchObject({ revision: 2, tokenName: 'reporting-11111111-r2' });
  });

  it('finishes an issue whose status write was lost, from the Secret, without minting', async () => {
    const t = setup();
    await t.run();
    // Simulate the crash: status as it was before the final write, journal still naming revision 1.
    t.kube.token = { ...t.kube.token, status: { conditions: [] } } as ServiceAccountToken;
    const mints = t.provider.mints;
    await t.run();
    expect(t.provider.mints).toBe(mints);
    expect(t.kube.token.status).toMatchObject({ revision: 1, tokenName: 'reporting-11111111-r1' });
    expect(t.condition('Ready')).toMatchObject({ status: 'True' });
  });
});

describe('token reconciler: rotation', () => {
  it('keeps the old token through the grace period, then revokes it: one mint and one revoke per rotation', async () => {
    const t = setup({ lifetime: '1h', rotation: { gracePeriod: '5m' } });
    await t.run();
    t.clock.set(Date.parse(t.kube.token.status!.renewalTime!) + 1);
    await t.run();
    expect(t.provider.liveTokens().sort()).toEqual(['reporting-11111111-r1', 'reporting-11111111-r2']);
    expect(t.kube.token.status?.retiring).toHaveLength(1);
    t.clock.advance(5 * 60_000);
    await t.run();
    expect(t.provider.liveTokens()).toEqual(['reporting-11111111-r2']);
    expect(t.kube.token.status?.retiring).toBeUndefined();
    expect(t.provider.mints).toBe(2);
    expect(t.provider.calls.filter((c) => c.operation === 'revoke')).toHaveLength(1);
  });

  it('clears a failed revocation from status once the retry revokes the token', async () => {
    const t = setup({ lifetime: '1h', rotation: { gracePeriod: '5m' } });
    await t.run();
    t.clock.set(Date.parse(t.kube.token.status!.renewalTime!) + 1);
    await t.run();
    t.clock.advance(5 * 60_000);
    t.provider.failNext(1, transient('credentials API unavailable'), { operations: ['revoke'] });
    await t.run();
    expect(t.kube.token.status).toMatchObject({ lastFailureReason: 'UpstreamError', failureCount: 1 });
    expect(t.kube.token.status?.retiring).toHaveLength(1);

    t.clock.set(Date.parse(t.kube.token.status!.nextAttemptAt!) + 1);
    await t.run();
    expect(t.provider.liveTokens()).toEqual(['reporting-11111111-r2']);
    expect(t.kube.token.status?.retiring).toBeUndefined();
    expect(t.kube.token.status?.lastFailure).toBeUndefined();
    expect(t.kube.token.status?.failureCount).toBeUndefined();
    expect(t.condition('Ready')).toMatchObject({ status: 'True', reason: 'Issued' });
  });

  it('waits for the retiring list to drain instead of overflowing it', async () => {
    const t = setup({ lifetime: '1h' });
    await t.run();
    const renewal = Date.parse(t.kube.token.status!.renewalTime!);
    const retiring = Array.from({ length: 30 }, (_, i) => ({
      tokenId: `old-${i}`,
      revokeAt: new Date(renewal + 600_000).toISOString(),
    }));
    t.kube.token = { ...t.kube.token, status: { ...t.kube.token.status, retiring } };
    t.clock.set(renewal + 1);
    const result = await t.run();
    expect(t.provider.mints).toBe(1);
    expect(t.condition('Issuing')!.message).toContain('waiting until 30 retired tokens are revoked');
    expect(result.requeueAfterMs).toBe(600_000 - 1);
  });
});

describe('token reconciler: deletion', () => {
  it('revokes every token once, deletes the Secret, then releases the finalizer', async () => {
    const t = setup({ lifetime: '1h' });
    await t.run();
    t.clock.set(Date.parse(t.kube.token.status!.renewalTime!) + 1);
    await t.run();
    // The current token also on the retiring list must still be revoked only once.
    const status = t.kube.token.status!;
    t.kube.token = {
      ...t.kube.token,
      metadata: { ...t.kube.token.metadata, deletionTimestamp: '2026-11-26T13:00:00Z' },
      status: {
        ...status,
        retiring: [...(status.retiring ?? []), { tokenId: status.tokenId!, revokeAt: status.issuedAt! }],
      },
    };
    await t.run();
    const revokes = t.provider.calls.filter((c) => c.operation === 'revoke').map((c) => c.id);
    expect(new Set(revokes).size).toBe(revokes.length);
    expect(t.provider.liveTokens()).toEqual([]);
    expect(t.kube.secrets.size).toBe(0);
    expect(t.kube.token.metadata.finalizers).toEqual([]);
  });

  it('keeps the finalizer and says how to release it when the provider cannot be resolved', async () => {
    const t = setup();
    await t.run();
    t.kube.token = {
      ...t.kube.token,
      metadata: { ...t.kube.token.metadata, deletionTimestamp: '2026-11-26T13:00:00Z' },
    };
    t.setResolution({ ok: false, reason: 'ProviderNotReady', message: 'CredentialsProvider p not found' });
    const result = await t.run();
    expect(result.requeueAfterMs).toBe(30_000);
    expect(t.kube.token.metadata.finalizers).toEqual(['tokensync.io/revoke']);
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'Revoking' });
    expect(t.condition('Ready')!.message).toContain('"deletionPolicy":"Retain"');
  });
});
