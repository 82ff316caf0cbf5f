import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AnyProvider, ServiceAccountToken } from '../../../../src/api/v1alpha1/index.ts';
import { ProviderProtection } from '../../../../src/controller/provider/protection.ts';
import { ProviderUsage } from '../../../../src/controller/provider/usage.ts';
import type { ObservedSecret } from '../../../../src/kube/secrets.ts';

const provider = (finalizers: string[] = [], extra: Record<string, unknown> = {}) =>
  ({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name: 'p', namespace: 'ns', resourceVersion: '5', finalizers, ...extra },
    spec: { type: 'reference', auth: { secretRef: { name: 'cred', key: 'token' } } },
  }) as unknown as AnyProvider;

const token = (finalizers: string[], providerName = 'p') =>
  ({
    metadata: { name: 't', namespace: 'ns', finalizers },
    spec: { providerRef: { name: providerName } },
  }) as unknown as ServiceAccountToken;

const credential = (finalizers: string[]): ObservedSecret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'cred', namespace: 'ns', resourceVersion: '9', finalizers },
});

/** What the resolver hands `protect` for provider `p` and the credential Secret "cred" at version 9. */
const resolvedFor = (p: AnyProvider) => ({
  ok: true as const,
  provider: p,
  client: {} as never,
  providerKey: 'ns/p',
  credentialFingerprint: 'x',
  credentialSecret: { namespace: 'ns', name: 'cred', metadata: credential([]).metadata },
});

/** A protection over fixed caches, recording its writes. */
function setup(state: { tokens: ServiceAccountToken[]; providers: AnyProvider[]; secrets: ObservedSecret[] }) {
  const writes: Array<{ what: string; finalizers: string[] | null | undefined; rv: string | undefined }> = [];
  const protection = new ProviderProtection({
    providers: {
      setFinalizers: async (p, finalizers, o) => {
        writes.push({ what: `provider ${p.metadata.name}`, finalizers, rv: o?.resourceVersion });
      },
    },
    secrets: {
      patchMetadata: async (_ns, name, patch, o) => {
        writes.push({ what: `secret ${name}`, finalizers: patch.finalizers, rv: o?.resourceVersion });
        return credential(patch.finalizers ?? []);
      },
    },
    usage: { isNeeded: (key) => ProviderUsage.of(state.tokens).isNeeded(key) },
    allProviders: () => state.providers,
    credentialSecret: (ns, name) => state.secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    credentialSecrets: () => state.secrets,
    logger: pino({ level: 'silent' }),
  });
  return { protection, writes };
}

describe('in-use protection of providers and their credential Secrets', () => {
  it('protects the provider and its credential before a mint, guarded by their resourceVersions', async () => {
    const p = provider(['other.io/keep']);
    const { protection, writes } = setup({ tokens: [], providers: [p], secrets: [credential([])] });
    await protection.protect(resolvedFor(p));
    expect(writes).toEqual([
      { what: 'provider p', finalizers: ['other.io/keep', 'tokensync.io/in-use'], rv: '5' },
      { what: 'secret cred', finalizers: ['tokensync.io/in-use'], rv: '9' },
    ]);
  });

  it('workers minting with one provider at once share one protecting write instead of racing to a conflict', async () => {
    const p = provider([]);
    const { protection, writes } = setup({ tokens: [], providers: [p], secrets: [credential([])] });
    await Promise.all(Array.from({ length: 16 }, () => protection.protect(resolvedFor(p))));
    expect(writes.map((w) => w.what)).toEqual(['provider p', 'secret cred']);
  });

  it('a worker that comes after the shared write, while its cache still shows the version replaced, writes nothing', async () => {
    const p = provider([]);
    const { protection, writes } = setup({ tokens: [], providers: [p], secrets: [credential([])] });
    await protection.protect(resolvedFor(p));
    // The watch has not delivered the finalizer: the provider and the Secret are still cached at versions 5 and 9.
    await protection.protect(resolvedFor(p));
    expect(writes.map((w) => w.what)).toEqual(['provider p', 'secret cred']);
    // A newer version without the finalizer (someone removed it) is protected again.
    const edited = provider([], { resourceVersion: '7' });
    await protection.protect(resolvedFor(edited));
    expect(writes.map((w) => `${w.what}@${w.rv}`)).toEqual(['provider p@5', 'secret cred@9', 'provider p@7']);
  });

  it('adds nothing to a provider already being deleted (the API server would refuse a new finalizer)', async () => {
    const p = provider([], { deletionTimestamp: '2026-11-26T12:00:00Z' });
    const { protection, writes } = setup({
      tokens: [],
      providers: [p],
      secrets: [credential(['tokensync.io/in-use'])],
    });
    await protection.protect(resolvedFor(p));
    expect(writes).toEqual([]);
  });

  it('keeps the provider while a token uses it or still has to revoke, and releases it after', async () => {
    const p = provider(['tokensync.io/in-use']);
    const state = {
      tokens: [token(['tokensync.io/revoke'])],
      providers: [p],
      secrets: [credential(['tokensync.io/in-use'])],
    };
    const { protection, writes } = setup(state);
    await protection.releaseProvider(p);
    await protection.releaseSecret(state.secrets[0]!);
    expect(writes).toEqual([]);
    // A live token without the finalizer yet (its first mint is about to write it) still needs the provider.
    state.tokens = [token([])];
    await protection.releaseProvider(p);
    expect(writes).toEqual([]);
    state.tokens = []; // finalized and gone: no longer needs the provider
    await protection.releaseProvider(p);
    await protection.releaseSecret(state.secrets[0]!);
    expect(writes).toEqual([
      { what: 'provider p', finalizers: [], rv: '5' },
      { what: 'secret cred', finalizers: [], rv: '9' },
    ]);
  });

  it('keeps a credential Secret another needed provider still reads', async () => {
    const p = provider(['tokensync.io/in-use']);
    const q = { ...provider(['tokensync.io/in-use']), metadata: { ...provider().metadata, name: 'q' } } as AnyProvider;
    const state = {
      tokens: [token(['tokensync.io/revoke'], 'q')],
      providers: [p, q],
      secrets: [credential(['tokensync.io/in-use'])],
    };
    const { protection, writes } = setup(state);
    await protection.releaseProvider(p);
    await protection.releaseSecret(state.secrets[0]!);
    expect(writes.map((w) => w.what)).toEqual(['provider p']);
  });
});
