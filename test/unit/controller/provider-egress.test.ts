// Which egress policy each provider object gets from the resolver: the cluster-wide one for a namespaced
// CredentialsProvider (created by tenants), that plus its own spec.egress.allow for a ClusterCredentialsProvider.
import { describe, expect, it } from 'vitest';
import type { AnyProvider } from '../../../src/api/v1alpha1/index.ts';
import { ProviderResolver } from '../../../src/controller/provider-resolver.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import {
  buildEgressPolicy,
  DEFAULT_EGRESS_POLICY,
  decideEgress,
  type EgressPolicy,
} from '../../../src/providers/transport/egress-policy.ts';
import type { ProviderClient, ProviderDeps } from '../../../src/providers/types.ts';

const kube = {
  secrets: {
    readKey: async () => ({
      value: new SecretValue('mgmt-key'),
      metadata: { name: 'admin', labels: { 'tokensync.io/credential': 'true' } },
    }),
  },
  namespaces: { labels: async () => ({}) },
};

function provider(kind: 'CredentialsProvider' | 'ClusterCredentialsProvider', egress?: unknown): AnyProvider {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind,
    metadata: {
      name: 'p',
      uid: `uid-${kind}`,
      generation: 1,
      ...(kind === 'CredentialsProvider' ? { namespace: 'team-a' } : {}),
    },
    spec: {
      type: 'reference',
      url: 'https://api.vendor.example',
      allowInsecureHttp: false,
      auth: {
        secretRef: { name: 'admin', key: 'k', ...(kind === 'ClusterCredentialsProvider' ? { namespace: 'ops' } : {}) },
      },
      ...(egress ? { egress } : {}),
    },
  } as unknown as AnyProvider;
}

function resolverCapturing(egress: EgressPolicy | undefined) {
  const seen: ProviderDeps[] = [];
  const resolver = new ProviderResolver({
    ...kube,
    getProvider: () => undefined,
    getClusterProvider: () => undefined,
    ...(egress ? { egress } : {}),
    createClient: (_config, deps = {}) => {
      seen.push(deps);
      return {} as ProviderClient;
    },
  });
  return { resolver, seen };
}

describe('egress policy per provider', () => {
  const cluster = buildEgressPolicy({ allow: ['127.0.0.1'] });

  it('a namespaced CredentialsProvider gets the cluster-wide policy as it is', async () => {
    const { resolver, seen } = resolverCapturing(cluster);
    expect((await resolver.resolveProvider(provider('CredentialsProvider'))).ok).toBe(true);
    expect(seen[0]!.egress).toBe(cluster);
  });

  it('without a policy from the flags, the default (deny special and private ranges) applies', async () => {
    const { resolver, seen } = resolverCapturing(undefined);
    await resolver.resolveProvider(provider('CredentialsProvider'));
    expect(seen[0]!.egress).toBe(DEFAULT_EGRESS_POLICY);
  });

  it('a ClusterCredentialsProvider adds its own spec.egress.allow, and refusals name that field', async () => {
    const { resolver, seen } = resolverCapturing(cluster);
    await resolver.resolveProvider(provider('ClusterCredentialsProvider', { allow: ['10.20.0.0/16'] }));
    const policy = seen[0]!.egress!;
    expect(decideEgress({ address: '10.20.3.4' }, policy)).toEqual({
      allowed: true,
      reason: 'allowed by spec.egress.allow of ClusterCredentialsProvider p entry 10.20.0.0/16',
    });
    expect(decideEgress({ address: '127.0.0.1' }, policy).allowed).toBe(true);
    expect(decideEgress({ address: '10.30.0.1' }, policy).allowed).toBe(false);
    expect(policy.providerAllowField).toBe('spec.egress.allow of ClusterCredentialsProvider p');
  });

  it('a malformed spec.egress.allow entry is InvalidSpec naming the entry, and no client is built', async () => {
    const { resolver, seen } = resolverCapturing(cluster);
    const resolution = await resolver.resolveProvider(
      provider('ClusterCredentialsProvider', { allow: ['https://vault.corp'] }),
    );
    expect(resolution).toMatchObject({ ok: false, reason: 'InvalidSpec' });
    expect(!resolution.ok && resolution.message).toContain(
      'spec.egress.allow of ClusterCredentialsProvider p: "https://vault.corp" is neither',
    );
    expect(seen).toEqual([]);
  });
});
