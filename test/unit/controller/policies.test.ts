import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { tokenSpecHash } from '../../../src/controller/spec-hash.ts';
import { evaluate } from '../../../src/controller/token/policies/chain.ts';
import type { ObservedSecret } from '../../../src/kube/secrets.ts';

const now = new Date('2026-11-26T12:00:00Z');
const uid = '11111111-2222-3333-4444-555555555555';

function sat(
  status: Partial<NonNullable<ServiceAccountToken['status']>> = {},
  extra: Partial<ServiceAccountToken> = {},
) {
  const base: ServiceAccountToken = {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { name: 'reporting', namespace: 'analytics', uid, generation: 1 },
    spec: {
      providerRef: { kind: 'CredentialsProvider', name: 'p' },
      serviceAccount: 'sa',
      readOnly: false,
      deletionPolicy: 'Revoke',
    },
    ...extra,
  } as ServiceAccountToken;
  return {
    ...base,
    status: {
      tokenId: 'reporting-11111111-r1',
      secretHash: 'hash-1',
      specHash: tokenSpecHash(base),
      expiresAt: '2026-12-26T12:00:00Z',
      renewalTime: '2026-12-16T12:00:00Z',
      ...status,
    },
  } as ServiceAccountToken;
}

function secret(overrides: Partial<ObservedSecret> = {}, ownerUid = uid): ObservedSecret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'reporting',
      namespace: 'analytics',
      labels: { 'app.kubernetes.io/managed-by': 'tokensync' },
      ownerReferences: [
        {
          apiVersion: 'tokensync.io/v1alpha1',
          kind: 'ServiceAccountToken',
          name: 'reporting',
          uid: ownerUid,
          controller: true,
        },
      ],
    },
    dataHash: 'hash-1',
    dataKeys: ['token'],
    ...overrides,
  };
}

describe('the issuing policy chain', () => {
  it('asks for nothing when the Secret matches and renewal is not due', () => {
    expect(evaluate({ sat: sat(), secret: secret(), now })).toBeUndefined();
  });

  it('mints when nothing was issued yet', () => {
    expect(evaluate({ sat: sat({ tokenId: undefined }), secret: undefined, now })?.action).toBe('mint');
  });

  it('refuses a Secret that is not ours before anything else, even on first issue', () => {
    const foreign = secret({ metadata: { name: 'reporting', namespace: 'analytics' } });
    expect(evaluate({ sat: sat({ tokenId: undefined }), secret: foreign, now })?.action).toBe('conflict');
    expect(evaluate({ sat: sat(), secret: secret({}, 'another-uid'), now })?.action).toBe('conflict');
  });

  it('repairs a missing or edited Secret', () => {
    expect(evaluate({ sat: sat(), secret: undefined, now })).toMatchObject({
      action: 'repair',
      reason: 'SecretRepaired',
    });
    expect(evaluate({ sat: sat(), secret: secret({ dataHash: 'other' }), now })).toMatchObject({ action: 'repair' });
  });

  it('rotates when a token-shaping field changes, but not for Secret labels', () => {
    const current = sat();
    const relabelled = {
      ...current,
      spec: { ...current.spec, secret: { type: 'Opaque', labels: { team: 'x' } } },
    } as ServiceAccountToken;
    expect(evaluate({ sat: relabelled, secret: secret(), now })).toBeUndefined();
    const readOnly = { ...current, spec: { ...current.spec, readOnly: true } } as ServiceAccountToken;
    expect(evaluate({ sat: readOnly, secret: secret(), now })).toMatchObject({ action: 'rotate', reason: 'Renewing' });
  });

  it('rotates once per new renew annotation value', () => {
    const requested = sat(
      {},
      {
        metadata: {
          name: 'reporting',
          namespace: 'analytics',
          uid,
          annotations: { 'tokensync.io/renew-requested-at': 'a' },
        },
      },
    );
    expect(evaluate({ sat: requested, secret: secret(), now })?.action).toBe('rotate');
    const done = { ...requested, status: { ...requested.status, lastRenewRequest: 'a' } } as ServiceAccountToken;
    expect(evaluate({ sat: done, secret: secret(), now })).toBeUndefined();
  });

  it('rotates at the renewal time and when expired', () => {
    expect(evaluate({ sat: sat({ renewalTime: '2026-11-26T11:59:59Z' }), secret: secret(), now })?.reason).toBe(
      'Renewing',
    );
    expect(
      evaluate({ sat: sat({ expiresAt: '2026-11-26T11:00:00Z', renewalTime: undefined }), secret: secret(), now })
        ?.reason,
    ).toBe('Expired');
  });

  it('updates a passthrough Secret when the user replaces the credential', () => {
    const passthrough = sat({ tokenId: 'passthrough:sha256:aaa', expiresAt: undefined, renewalTime: undefined });
    expect(
      evaluate({ sat: passthrough, secret: secret(), now, passthroughFingerprint: 'passthrough:sha256:aaa' }),
    ).toBeUndefined();
    expect(
      evaluate({ sat: passthrough, secret: secret(), now, passthroughFingerprint: 'passthrough:sha256:bbb' })?.action,
    ).toBe('rotate');
  });
});
