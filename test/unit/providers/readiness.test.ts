import { beforeEach, describe, expect, it } from 'vitest';
import type { AnyProvider, Condition } from '../../../src/api/v1alpha1/index.ts';
import { NOT_READY_RECHECK_MS, ProviderReconciler, RECHECK_MS } from '../../../src/controller/provider/reconciler.ts';
import { ProviderResolver } from '../../../src/controller/provider-resolver.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { permanent, rateLimited } from '../../../src/providers/errors.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import { FakeProvider } from '../../support/fake-provider.ts';

/**
 * The provider's Ready decision (src/controller/provider/reconciler.ts) with a FakeProvider behind a real
 * ProviderResolver: what a check failure does to Ready, and when the next check happens.
 */

const T0 = Date.parse('2030-01-01T00:00:00Z');

function harness() {
  let now = T0;
  const fake = new FakeProvider({ now: () => now });
  let built = 0;
  let credential = 'key-1';
  let provider: AnyProvider = {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name: 'p', namespace: 'ns', uid: 'u-1', generation: 1 },
    spec: {
      type: 'reference',
      url: 'https://x.example',
      auth: { secretRef: { name: 's', key: 'k' } },
      allowInsecureHttp: false,
    },
  };
  const resolver = new ProviderResolver({
    secrets: {
      readKey: async () => ({
        value: new SecretValue(credential),
        metadata: { name: 's', labels: { 'tokensync.io/credential': 'true' } },
      }),
    },
    namespaces: { labels: async () => ({}) },
    getProvider: () => provider,
    getClusterProvider: () => undefined,
    clock: { now: () => now, setTimeout, clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    createClient: () => {
      built++;
      return fake;
    },
  });
  const reconciler = new ProviderReconciler({
    providers: {
      patchStatus: async (_p: AnyProvider, status: Record<string, unknown>) => {
        provider = { ...provider, status: { ...provider.status, ...status } };
      },
    },
    resolver,
    logger: createLogger({ level: 'silent' }),
    clock: { now: () => now },
  });
  return {
    fake,
    reconcile: () => reconciler.reconcile(provider),
    ready: (): Condition | undefined => provider.status?.conditions?.find((c) => c.type === 'Ready'),
    advance: (ms: number) => {
      now += ms;
    },
    setCredential: (value: string) => {
      credential = value;
    },
    built: () => built,
  };
}

describe('provider readiness', () => {
  let h: ReturnType<typeof harness>;
  beforeEach(() => {
    h = harness();
  });

  it('a Ready provider is re-checked every RECHECK_MS, not sooner', async () => {
    expect(await h.reconcile()).toEqual({ requeueAfterMs: RECHECK_MS });
    expect(h.ready()).toMatchObject({ status: 'True', reason: 'Reachable' });
    h.advance(60_000);
    expect(await h.reconcile()).toEqual({ requeueAfterMs: RECHECK_MS - 60_000 });
    expect(h.fake.checks).toBe(1);
  });

  it('a provider that is not Ready is re-checked after NOT_READY_RECHECK_MS, so a fix shows up quickly', async () => {
    h.fake.failNext(1, permanent('reference check: HTTP 401: invalid key', 401), { operations: ['check'] });
    expect(await h.reconcile()).toEqual({ requeueAfterMs: NOT_READY_RECHECK_MS });
    expect(h.ready()).toMatchObject({ status: 'False', reason: 'UpstreamRejected' });
    h.advance(NOT_READY_RECHECK_MS);
    await h.reconcile();
    expect(h.ready()).toMatchObject({ status: 'True' });
    expect(h.fake.calls.filter((c) => c.operation === 'check')).toHaveLength(2);
  });

  it('a 429 keeps the previous Ready condition and waits for the Retry-After', async () => {
    await h.reconcile();
    const before = h.ready();
    h.advance(RECHECK_MS);
    h.fake.failNext(1, rateLimited('reference check: HTTP 429', 20_000), { operations: ['check'] });
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 20_000 });
    expect(h.ready()).toEqual(before);
    h.advance(20_000);
    await h.reconcile();
    expect(h.ready()).toMatchObject({ status: 'True' });
  });

  it('a 429 on the very first check says Unknown, not False', async () => {
    h.fake.failNext(1, rateLimited('reference check: HTTP 429', 5_000), { operations: ['check'] });
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 5_000 });
    expect(h.ready()).toMatchObject({ status: 'Unknown', reason: 'UpstreamError' });
    h.advance(5_000);
    await h.reconcile();
    expect(h.ready()).toMatchObject({ status: 'True' });
  });

  it('keeps the client across checks while the credential is unchanged, and builds a new one when it changes', async () => {
    await h.reconcile();
    h.advance(RECHECK_MS);
    await h.reconcile();
    expect(h.built()).toBe(1);
    h.setCredential('key-2');
    h.advance(RECHECK_MS);
    await h.reconcile();
    expect(h.built()).toBe(2);
  });
});
