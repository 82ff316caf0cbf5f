// Unit tests, on an injected clock, of the pieces the lifecycle-rule tests (test/integration/controller) exposed and
// fixed: the retire time of a replaced token, the failure backoff a user action may cut short, the message of a
// deletion that cannot revoke, and which tokens keep a provider's in-use protection.
import { describe, expect, it } from 'vitest';
import type { AnyProvider, ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { manualClock } from '../../../src/clock.ts';
import { ProviderProtection } from '../../../src/controller/provider/protection.ts';
import { ProviderUsage } from '../../../src/controller/provider/usage.ts';
import type { TokenDeps } from '../../../src/controller/token/deps.ts';
import { backoffRemainingMs } from '../../../src/controller/token/failure.ts';
import { revokingMessage } from '../../../src/controller/token/readiness.ts';
import { graceEnd } from '../../../src/controller/token/retire.ts';
import { Round } from '../../../src/controller/token/round.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

function sat(overrides: {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  annotations?: Record<string, string>;
  generation?: number;
  deletionTimestamp?: string;
  finalizers?: string[];
}): ServiceAccountToken {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: {
      name: 'app',
      namespace: 'team',
      uid: 'u-1',
      generation: overrides.generation ?? 1,
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
      ...(overrides.deletionTimestamp ? { deletionTimestamp: overrides.deletionTimestamp } : {}),
      ...(overrides.finalizers ? { finalizers: overrides.finalizers } : {}),
    },
    spec: { providerRef: { name: 'p' }, serviceAccount: 'sa', ...overrides.spec },
    status: overrides.status ?? {},
  } as ServiceAccountToken;
}

const round = (s: ServiceAccountToken) =>
  new Round({ clock: manualClock(NOW), random: () => 0 } as unknown as TokenDeps, s);

describe('graceEnd: when a replaced token is revoked', () => {
  it('at the end of the grace period when the token outlives it', () => {
    const r = round(sat({ spec: { rotation: { gracePeriod: '5m' } } }));
    expect(graceEnd(r, at(3_600_000)).toISOString()).toBe(at(300_000));
  });

  it('at its expiry when that comes first: an expired token needs no grace', () => {
    const r = round(sat({ spec: { rotation: { gracePeriod: '5m' } } }));
    expect(graceEnd(r, at(10_000)).toISOString()).toBe(at(10_000));
  });

  it('now for a token already expired, and after the grace period for one that never expires', () => {
    const r = round(sat({}));
    expect(graceEnd(r, at(-1000)).toISOString()).toBe(at(0));
    expect(graceEnd(r, undefined).toISOString()).toBe(at(300_000));
  });
});

describe('backoffRemainingMs: the failure backoff', () => {
  const failed = { nextAttemptAt: at(60_000), lastFailureTime: at(-30_000), observedGeneration: 1 };

  it('holds whatever woke the resource', () => {
    expect(backoffRemainingMs(round(sat({ status: failed })))).toBe(60_000);
  });

  it('is over once nextAttemptAt has passed, or when there is none', () => {
    expect(backoffRemainingMs(round(sat({ status: { ...failed, nextAttemptAt: at(-1) } })))).toBe(0);
    expect(backoffRemainingMs(round(sat({ status: {} })))).toBe(0);
  });

  it('gives a spec change (a generation not observed yet) one attempt now', () => {
    expect(backoffRemainingMs(round(sat({ status: failed, generation: 2 })))).toBe(0);
  });

  it('gives a renew request the last failure did not see one attempt now, and only one', () => {
    const renew = { 'tokensync.io/renew-requested-at': '2026-06-01T12:00:00Z' };
    expect(backoffRemainingMs(round(sat({ status: failed, annotations: renew })))).toBe(0);
    const seen = { ...failed, lastFailureRenewRequest: '2026-06-01T12:00:00Z' };
    expect(backoffRemainingMs(round(sat({ status: seen, annotations: renew })))).toBe(60_000);
    const done = { ...failed, lastRenewRequest: '2026-06-01T12:00:00Z' };
    expect(backoffRemainingMs(round(sat({ status: done, annotations: renew })))).toBe(60_000);
  });
});

describe('revokingMessage: a deletion that cannot revoke', () => {
  it('says only that it revokes while nothing failed since the deletion', () => {
    const s = sat({
      deletionTimestamp: at(0),
      status: { lastFailure: 'old rotation failure', lastFailureTime: at(-60_000) },
    });
    expect(revokingMessage({ sat: s, status: s.status! })).toBe('Revoking upstream tokens before deletion');
  });

  it('names the failure and the Retain escape hatch once a revocation failed', () => {
    const s = sat({
      deletionTimestamp: at(0),
      status: { lastFailure: 'Transient: connect ECONNREFUSED', lastFailureTime: at(1000) },
    });
    const message = revokingMessage({ sat: s, status: s.status! });
    expect(message).toContain('keeps failing (Transient: connect ECONNREFUSED)');
    expect(message).toContain(`kubectl patch sat app -n team --type merge -p '{"spec":{"deletionPolicy":"Retain"}}'`);
  });
});

describe('in-use protection: which tokens need their provider', () => {
  const provider = {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name: 'p', namespace: 'team' },
    spec: {},
  } as unknown as AnyProvider;
  const protection = (tokens: ServiceAccountToken[]) =>
    new ProviderProtection({
      providers: { setFinalizers: async () => {} },
      secrets: { patchMetadata: async () => ({}) as never },
      usage: ProviderUsage.of(tokens),
      allProviders: () => [provider],
      credentialSecret: () => undefined,
      credentialSecrets: () => [],
      logger: { info() {}, warn() {} } as never,
    });

  it('a live token about to mint (no finalizer yet) keeps the provider protected', () => {
    expect(protection([sat({})]).needed(provider)).toBe(true);
  });

  it('a token being deleted keeps it only while it carries the revoke finalizer', () => {
    expect(protection([sat({ deletionTimestamp: at(0), finalizers: ['tokensync.io/revoke'] })]).needed(provider)).toBe(
      true,
    );
    expect(protection([sat({ deletionTimestamp: at(0) })]).needed(provider)).toBe(false);
  });

  it('tokens of other providers or namespaces do not count', () => {
    expect(protection([sat({ spec: { providerRef: { name: 'q' } } })]).needed(provider)).toBe(false);
    expect(protection([]).needed(provider)).toBe(false);
  });
});
