import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../../src/api/v1alpha1/index.ts';
import { ProviderUsage } from '../../../../src/controller/provider/usage.ts';

function sat(
  name: string,
  o: { ns?: string; provider?: string; cluster?: boolean; finalizers?: string[]; deleting?: boolean } = {},
): ServiceAccountToken {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: {
      name,
      namespace: o.ns ?? 'team',
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-12-03T00:00:00Z' } : {}),
    },
    spec: {
      providerRef: { name: o.provider ?? 'p', ...(o.cluster ? { kind: 'ClusterCredentialsProvider' } : {}) },
    },
  } as unknown as ServiceAccountToken;
}

describe('which tokens need which provider', () => {
  it('a namespaced providerRef counts under namespace/name, a cluster one under cluster/name', () => {
    const usage = ProviderUsage.of([sat('a'), sat('b', { ns: 'other', provider: 'shared', cluster: true })]);
    expect(usage.isNeeded('team/p')).toBe(true);
    expect(usage.isNeeded('cluster/shared')).toBe(true);
    expect(usage.isNeeded('other/shared')).toBe(false);
    expect([...usage.tokensOf('team/p')]).toEqual(['team/a']);
  });

  it('a token being deleted stops counting when its revoke finalizer goes, not before', () => {
    const usage = ProviderUsage.of([sat('a', { finalizers: ['tokensync.io/revoke'] })]);
    const deleting = sat('a', { finalizers: ['tokensync.io/revoke'], deleting: true });
    usage.observe({ type: 'update', object: deleting, old: sat('a') });
    expect(usage.isNeeded('team/p')).toBe(true);
    usage.observe({ type: 'update', object: sat('a', { deleting: true }), old: deleting });
    expect(usage.isNeeded('team/p')).toBe(false);
  });

  it('a provider stays needed until the last of its tokens is deleted', () => {
    const usage = ProviderUsage.of([sat('a'), sat('b')]);
    usage.observe({ type: 'delete', object: sat('a') });
    expect(usage.isNeeded('team/p')).toBe(true);
    usage.observe({ type: 'delete', object: sat('b') });
    expect(usage.isNeeded('team/p')).toBe(false);
    expect([...usage.tokensOf('team/p')]).toEqual([]);
  });

  it('a token whose providerRef changes moves from the old provider to the new one', () => {
    const usage = ProviderUsage.of([sat('a')]);
    usage.observe({ type: 'update', object: sat('a', { provider: 'q' }), old: sat('a') });
    expect(usage.isNeeded('team/p')).toBe(false);
    expect([...usage.tokensOf('team/q')]).toEqual(['team/a']);
  });
});
