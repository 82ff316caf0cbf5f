import { describe, expect, it } from 'vitest';
import type { AnyProvider } from '../../../src/api/v1alpha1/index.ts';
import { ProviderResolver, providerKeyOf } from '../../../src/controller/provider-resolver.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import { FakeProvider } from '../../support/fake-provider.ts';

const spec = {
  type: 'reference',
  url: 'https://x.example',
  auth: { secretRef: { name: 's', key: 'k', namespace: 'cluster' } },
  allowInsecureHttp: false,
};
const namespaced = {
  apiVersion: 'tokensync.io/v1alpha1',
  kind: 'CredentialsProvider',
  metadata: { name: 'shared', namespace: 'cluster', uid: 'u-ns', generation: 1 },
  spec,
} as unknown as AnyProvider;
const clusterWide = {
  apiVersion: 'tokensync.io/v1alpha1',
  kind: 'ClusterCredentialsProvider',
  metadata: { name: 'shared', uid: 'u-cluster', generation: 1 },
  spec,
} as unknown as AnyProvider;

describe('providers that share a key', () => {
  it('a CredentialsProvider in a namespace named "cluster" and a ClusterCredentialsProvider of its name keep their own client and rate limiter', async () => {
    expect(providerKeyOf(namespaced)).toBe(providerKeyOf(clusterWide));
    const limiters: unknown[] = [];
    const resolver = new ProviderResolver({
      secrets: {
        readKey: async () => ({
          value: new SecretValue('key'),
          metadata: { name: 's', labels: { 'tokensync.io/credential': 'true' } },
        }),
      },
      namespaces: { labels: async () => ({}) },
      getProvider: () => namespaced,
      getClusterProvider: () => clusterWide,
      createClient: (_config, options) => {
        limiters.push(options?.limiter);
        return new FakeProvider();
      },
    });
    const clients = [];
    for (const p of [namespaced, clusterWide, namespaced, clusterWide]) {
      const resolved = await resolver.resolveProvider(p);
      if (!resolved.ok) throw new Error(resolved.message);
      clients.push(resolved.client);
    }
    // Built once each (they evicted each other's client on every call before), with a budget each.
    expect(limiters).toHaveLength(2);
    expect(limiters[0]).not.toBe(limiters[1]);
    expect(clients[2]).toBe(clients[0]);
    expect(clients[3]).toBe(clients[1]);
  });
});
