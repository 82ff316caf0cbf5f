// deploy/samples/ must always be valid for the zod schemas (the types the controller parses with), and the schemas
// must reject the mistakes users make. The same samples are applied to a real API server in
// test/integration/crds/samples.test.ts (which also checks the CEL rules zod does not express).
import { describe, expect, it } from 'vitest';
import {
  clusterCredentialsProviderKind,
  credentialsProviderKind,
  type KindDefinition,
  PROVIDER_TYPES,
  type ServiceAccountTokenSpec,
  serviceAccountTokenKind,
} from '../../../src/api/v1alpha1/index.ts';
import { renewalTime } from '../../../src/controller/schedule.ts';
import { sampleDocs, sampleFiles } from '../../support/samples.ts';

const kinds: Record<string, KindDefinition> = {
  ServiceAccountToken: serviceAccountTokenKind,
  CredentialsProvider: credentialsProviderKind,
  ClusterCredentialsProvider: clusterCredentialsProviderKind,
};
const docs = sampleDocs();
const tokensyncDocs = docs.filter((d) => d.object.apiVersion === 'tokensync.io/v1alpha1');

describe('deploy/samples', () => {
  it('has a CredentialsProvider and a ServiceAccountToken for every provider type, and a ClusterCredentialsProvider', () => {
    const providers = tokensyncDocs.filter((d) => d.object.kind === 'CredentialsProvider');
    const types = new Set(providers.map((d) => (d.object['spec'] as { type: string }).type));
    expect([...types].sort()).toEqual([...PROVIDER_TYPES].sort());
    // Both rill modes.
    const rillModes = providers
      .map((d) => d.object['spec'] as { type: string; rill?: { mode?: string } })
      .filter((s) => s.type === 'rill')
      .map((s) => s.rill?.mode);
    expect(rillModes.sort()).toEqual(['ephemeral', 'serviceToken']);
    // Every provider has a token that uses it, in the same file.
    for (const provider of providers) {
      const uses = tokensyncDocs.filter(
        (d) =>
          d.file === provider.file &&
          d.object.kind === 'ServiceAccountToken' &&
          (d.object['spec'] as { providerRef: { name: string } }).providerRef.name === provider.object.metadata.name,
      );
      expect(uses.length, `${provider.file}: no ServiceAccountToken uses ${provider.id}`).toBeGreaterThan(0);
    }
    const cluster = tokensyncDocs.filter((d) => d.object.kind === 'ClusterCredentialsProvider');
    expect(cluster.length).toBeGreaterThan(0);
    expect(cluster.every((d) => (d.object['spec'] as { namespaceSelector?: unknown }).namespaceSelector)).toBe(true);
  });

  it('has the management credential Secret each provider names, with a placeholder value', () => {
    for (const provider of tokensyncDocs.filter((d) => d.object.kind.endsWith('CredentialsProvider'))) {
      const ref = (provider.object['spec'] as { auth: { secretRef: { name: string; key: string } } }).auth.secretRef;
      const secret = docs.find(
        (d) => d.file === provider.file && d.object.kind === 'Secret' && d.object.metadata.name === ref.name,
      );
      expect(secret, `${provider.file}: Secret ${ref.name} missing`).toBeDefined();
      const value = (secret!.object['stringData'] as Record<string, string>)[ref.key];
      expect(value, `${provider.file}: Secret ${ref.name} lacks key ${ref.key}`).toMatch(/REPLACE/);
    }
  });

  it('augment sample writes a session.json', () => {
    const augment = tokensyncDocs.find((d) => d.file === 'augment.yaml' && d.object.kind === 'ServiceAccountToken')!
      .object['spec'] as { secret: { template: Record<string, string> } };
    expect(Object.keys(augment.secret.template)).toEqual(['session.json']);
    expect(augment.secret.template['session.json']).toContain('{{ .token | json }}');
  });

  it('renewal-window.yaml: a renewal due on Friday evening waits for Monday 09:00 in Berlin, as its comment says', () => {
    const sat = tokensyncDocs.find((d) => d.file === 'renewal-window.yaml' && d.object.kind === 'ServiceAccountToken')!;
    const spec = serviceAccountTokenKind.spec.parse(sat.object['spec']) as ServiceAccountTokenSpec;
    // Issued so that it falls due (renewBefore 96h of 168h) Friday 2026-11-27 18:00 CET.
    const issuedAt = new Date('2026-11-24T17:00:00Z');
    const expiresAt = new Date(issuedAt.getTime() + 168 * 3_600_000);
    expect(renewalTime(spec, issuedAt, expiresAt, 0)?.toISOString()).toBe('2026-11-30T08:00:00.000Z');
  });

  it('keeps every sample file parseable with documents', () => {
    expect(sampleFiles().length).toBeGreaterThanOrEqual(9);
  });

  it.each(tokensyncDocs.map((d) => [`${d.file} ${d.id}`, d] as const))('%s is accepted by the zod schema', (_n, d) => {
    const result = kinds[d.object.kind]!.spec.safeParse(d.object['spec']);
    expect(result.error?.issues ?? []).toEqual([]);
  });
});

// --- invalid specs -----------------------------------------------------------------------------------------------

const validToken = { providerRef: { name: 'reference' }, serviceAccount: 'ci-bot', lifetime: '1h', renewBefore: '20m' };
const validProvider = {
  type: 'reference',
  url: 'https://reference.example.com',
  auth: { secretRef: { name: 'admin', key: 'apiKey' } },
};

const badTokens: Array<[string, Record<string, unknown>]> = [
  ['malformed lifetime', { ...validToken, lifetime: '1 hour' }],
  ['lifetime in days (Go durations have no d)', { ...validToken, lifetime: '30d' }],
  ['malformed renewBefore', { ...validToken, renewBefore: '-5m' }],
  ['bad providerRef.kind', { ...validToken, providerRef: { kind: 'Secret', name: 'reference' } }],
  ['providerRef without name', { ...validToken, providerRef: {} }],
  ['providerRef.name not a DNS name', { ...validToken, providerRef: { name: 'Ref_1' } }],
  ['missing providerRef', { serviceAccount: 'x' }],
  ['invalid tokenName', { ...validToken, tokenName: 'CI Bot' }],
  ['tokenName too long', { ...validToken, tokenName: 'a'.repeat(41) }],
  ['renewBeforePercentage 100', { ...validToken, renewBefore: undefined, renewBeforePercentage: 100 }],
  ['renewBeforePercentage 0', { ...validToken, renewBefore: undefined, renewBeforePercentage: 0 }],
  ['bad secret template key', { ...validToken, secret: { template: { 'bad key/': '{{ .token }}' } } }],
  ['bad secret name', { ...validToken, secret: { name: 'Not_A_Name' } }],
  ['bad deletionPolicy', { ...validToken, deletionPolicy: 'Delete' }],
  ['bad restart target kind', { ...validToken, restartTargets: [{ kind: 'Pod', name: 'x' }] }],
  [
    'restart target with both name and selector',
    { ...validToken, restartTargets: [{ kind: 'Deployment', name: 'x', selector: { matchLabels: { a: 'b' } } }] },
  ],
  ['restart target with neither name nor selector', { ...validToken, restartTargets: [{ kind: 'Deployment' }] }],
  [
    'restart target selector that selects everything',
    { ...validToken, restartTargets: [{ kind: 'Rollout', selector: {} }] },
  ],
  [
    'restart target selector In without values',
    {
      ...validToken,
      restartTargets: [{ kind: 'Deployment', selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }],
    },
  ],
  [
    'restart target selector Exists with values',
    {
      ...validToken,
      restartTargets: [
        { kind: 'Deployment', selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } },
      ],
    },
  ],
  ['renewal window at 9am', { ...validToken, renewal: { windows: [{ start: '9:00', end: '17:00' }] } }],
  ['renewal window at 25:00', { ...validToken, renewal: { windows: [{ start: '09:00', end: '25:00' }] } }],
  ['renewal window of no length', { ...validToken, renewal: { windows: [{ start: '09:00', end: '09:00' }] } }],
  [
    'renewal window on a day that is not one',
    { ...validToken, renewal: { windows: [{ days: ['Monday'], start: '09:00', end: '17:00' }] } },
  ],
  [
    'renewal window in an unknown time zone',
    { ...validToken, renewal: { windows: [{ start: '09:00', end: '17:00', timeZone: 'CEST' }] } },
  ],
  ['renewal with no windows', { ...validToken, renewal: { windows: [] } }],
  ['too many scopes', { ...validToken, scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) }],
];

const badProviders: Array<[string, Record<string, unknown>]> = [
  ['unknown type', { ...validProvider, type: 'vault' }],
  ['url without scheme', { ...validProvider, url: 'reference.example.com' }],
  ['ftp url', { ...validProvider, url: 'ftp://reference.example.com' }],
  ['auth.secretRef without key', { ...validProvider, auth: { secretRef: { name: 'admin' } } }],
  ['rill with a bad mode', { ...validProvider, type: 'rill', rill: { org: 'acme', mode: 'jwt' } }],
  ['rill without org', { ...validProvider, type: 'rill', rill: { mode: 'serviceToken' } }],
  ['augment with a bad tenantURL', { type: 'augment', augment: { tenantURL: 'not a url' }, auth: validProvider.auth }],
  [
    'customerio in a region that does not exist',
    { ...validProvider, type: 'customerio', customerio: { region: 'ap' } },
  ],
  ['http without issue', { ...validProvider, type: 'http', http: {} }],
  ['http with a bad method', { ...validProvider, type: 'http', http: { issue: { method: 'FETCH', path: '/tokens' } } }],
  ['rateLimit of 0', { ...validProvider, rateLimit: { requestsPerSecond: 0 } }],
  ['malformed timeout', { ...validProvider, timeout: 'ten seconds' }],
];

describe('zod schemas reject bad specs', () => {
  it('accept the baselines the bad specs are derived from', () => {
    expect(serviceAccountTokenKind.spec.safeParse(validToken).success).toBe(true);
    expect(credentialsProviderKind.spec.safeParse(validProvider).success).toBe(true);
  });

  it.each(badTokens)('ServiceAccountToken: %s', (_name, spec) => {
    expect(serviceAccountTokenKind.spec.safeParse(spec).success).toBe(false);
  });

  it.each(badProviders)('CredentialsProvider: %s', (_name, spec) => {
    expect(credentialsProviderKind.spec.safeParse(spec).success).toBe(false);
  });

  it('ClusterCredentialsProvider: secretRef needs a namespace', () => {
    expect(clusterCredentialsProviderKind.spec.safeParse(validProvider).success).toBe(false);
    const withNamespace = {
      ...validProvider,
      auth: { secretRef: { ...validProvider.auth.secretRef, namespace: 'tokensync-system' } },
    };
    expect(clusterCredentialsProviderKind.spec.safeParse(withNamespace).success).toBe(true);
  });

  it('ClusterCredentialsProvider: namespaceSelector operator must be a selector operator', () => {
    const spec = {
      ...validProvider,
      auth: { secretRef: { ...validProvider.auth.secretRef, namespace: 'tokensync-system' } },
      namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Equals', values: ['a'] }] },
    };
    expect(clusterCredentialsProviderKind.spec.safeParse(spec).success).toBe(false);
  });
});
