import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken, ServiceAccountTokenStatus } from '../../../../src/api/v1alpha1/index.ts';
import { lifetimeCondition, readyCondition } from '../../../../src/controller/token/readiness.ts';

const now = new Date('2030-01-01T12:00:00Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');

function input(spec: Record<string, unknown>, status: ServiceAccountTokenStatus) {
  const sat = { metadata: { name: 't', generation: 1 }, spec } as unknown as ServiceAccountToken;
  return { sat, status, now };
}

describe('LifetimeHonored: what the credentials API made of the lifetime asked for', () => {
  const issued = { tokenId: 'id', tokenName: 't-r1', issuedAt: at(0) };

  it('is True when the grant is within a minute (or 1%) of the request', () => {
    expect(lifetimeCondition(input({ lifetime: '1h' }, { ...issued, expiresAt: at(3590) }))).toMatchObject({
      status: 'True',
    });
    expect(lifetimeCondition(input({ lifetime: '2h' }, { ...issued, expiresAt: at(7200) }))).toMatchObject({
      status: 'True',
    });
  });

  it('is False with UpstreamLifetimeShorter when the vendor capped it (Customer.io)', () => {
    const c = lifetimeCondition(input({ lifetime: '168h' }, { ...issued, expiresAt: at(900) }));
    expect(c).toMatchObject({ status: 'False', reason: 'UpstreamLifetimeShorter' });
    expect(c?.message).toContain('granted 15m of the 168h asked');
  });

  it('is False with LifetimeNotSupported when the token never expires (Rill service tokens), suggesting rotation.every', () => {
    const c = lifetimeCondition(input({ lifetime: '2m' }, { ...issued }));
    expect(c).toMatchObject({ status: 'False', reason: 'LifetimeNotSupported' });
    expect(c?.message).toContain('Set rotation.every (e.g. 2m)');
  });

  it('is absent when nothing was asked, and for passthrough tokens', () => {
    expect(lifetimeCondition(input({}, { ...issued, expiresAt: at(900) }))).toBeUndefined();
    expect(
      lifetimeCondition(input({ lifetime: '1h' }, { ...issued, tokenId: 'passthrough:sha256:abc' })),
    ).toBeUndefined();
  });
});

describe('Ready from state alone', () => {
  it('is never True past expiry, even with a token in the Secret', () => {
    const c = readyCondition(
      input({}, { tokenId: 'id', tokenName: 't', secretName: 's', issuedAt: at(-7200), expiresAt: at(-1) }),
    );
    expect(c).toMatchObject({ status: 'False', reason: 'Expired' });
  });

  it('without a token, says why none could be issued', () => {
    expect(readyCondition(input({}, {}))).toMatchObject({ status: 'False', reason: 'NotIssued' });
    expect(
      readyCondition(input({}, { lastFailureReason: 'UpstreamRejected', lastFailure: 'Permanent: 401' })),
    ).toMatchObject({ status: 'False', reason: 'UpstreamRejected', message: 'Permanent: 401' });
  });

  it('is False with SecretMissing when the Secret is gone and no new token could be written', () => {
    const c = readyCondition({
      ...input(
        {},
        { tokenId: 'id', tokenName: 't', secretName: 's', expiresAt: at(3600), lastFailure: 'UpstreamError: 503' },
      ),
      secretMissing: true,
    });
    expect(c).toMatchObject({ status: 'False', reason: 'SecretMissing' });
    expect(c.message).toContain('503');
  });
});
