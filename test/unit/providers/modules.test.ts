import { describe, expect, it } from 'vitest';
import {
  type CredentialsProviderSpec,
  credentialsProviderSpecSchema,
  PROVIDER_CONFIG_SCHEMAS,
  PROVIDER_TYPES,
} from '../../../src/api/v1alpha1/provider.ts';
import { resolveProviderConfig } from '../../../src/controller/provider-resolver.ts';
import { TEMPLATE_VARIABLES } from '../../../src/controller/template.ts';
import { augmentProvider } from '../../../src/providers/augment/index.ts';
import { customerioProvider } from '../../../src/providers/customerio/index.ts';
import { httpProvider } from '../../../src/providers/http/index.ts';
import { iometeProvider } from '../../../src/providers/iomete/index.ts';
import { isPassthroughTokenId } from '../../../src/providers/passthrough.ts';
import { referenceProvider } from '../../../src/providers/reference/index.ts';
import {
  createProviderClient,
  PROVIDER_TEMPLATE_VARIABLES,
  providerModule,
  registeredProviderTypes,
} from '../../../src/providers/registry.ts';
import { rillProvider } from '../../../src/providers/rill/index.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { ResolvedProviderConfig } from '../../../src/providers/types.ts';
import { config, providerError } from './helpers.ts';

/** One representative configuration per type (and both Rill modes). */
const configs: ResolvedProviderConfig[] = [
  config({ type: 'reference' }),
  config({ type: 'iomete', iomete: { domain: 'analytics', revocation: 'Suspend' } }),
  config({ type: 'rill', rill: { org: 'acme' } }),
  config({ type: 'rill', rill: { org: 'acme', mode: 'ephemeral', project: 'p' } }),
  config({ type: 'customerio', credential: new SecretValue('sa_live_0123456789'), customerio: { region: 'eu' } }),
  config({ type: 'augment', augment: { tenantURL: 'https://t.api.augmentcode.com/' } }),
  config({ type: 'http', http: { issue: { method: 'POST', path: '/t', body: '{"ro": {{ .readOnly }}}' } } }),
];

describe('provider modules', () => {
  it('each folder exports one module per type, registered once, in the order of the CRD enum', () => {
    const modules = [
      referenceProvider,
      iometeProvider,
      rillProvider,
      customerioProvider,
      augmentProvider,
      httpProvider,
    ];
    expect(modules.map((m) => m.type)).toEqual([...PROVIDER_TYPES]);
    expect(registeredProviderTypes()).toEqual([...PROVIDER_TYPES]);
  });

  it('each module validates with the schema the CRD is generated from (declared once, in src/api)', () => {
    for (const module of [referenceProvider, iometeProvider, rillProvider, customerioProvider, augmentProvider]) {
      expect(module.configSchema).toBe(PROVIDER_CONFIG_SCHEMAS[module.type]);
    }
    expect(httpProvider.configSchema).toBe(PROVIDER_CONFIG_SCHEMAS.http);
  });

  it.each(configs.map((c) => [c.type, c] as const))(
    '%s: the module announces the capabilities its clients have',
    async (_type, c) => {
      const client = createProviderClient(c, {});
      expect(providerModule(c.type).capabilities(c)).toEqual(client.capabilities);
      expect(client.type).toBe(c.type);
      // Exactly the passthrough clients say which token id their credential has.
      expect(client.passthrough !== undefined).toBe(client.capabilities.mode === 'passthrough');
      await client.close?.();
    },
  );

  it('refuses the block of another type, naming it', () => {
    expect(() => createProviderClient(config({ type: 'iomete', rill: { org: 'acme' } }), {})).toThrow(
      'iomete: spec.rill is only allowed when type is rill; remove it',
    );
  });

  it('names the invalid setting, with its path under spec', async () => {
    const error = await providerError(
      Promise.resolve().then(() =>
        createProviderClient(config({ type: 'rill', rill: { mode: 'ephemeral' } as never }), {}),
      ),
    );
    expect(error.code).toBe('Permanent');
    expect(error.message).toMatch(/^rill: invalid settings: spec\.rill\.org: /);
  });

  it('offers every provider template variable to Secret templates', () => {
    expect(PROVIDER_TEMPLATE_VARIABLES).toEqual(
      expect.arrayContaining(['runtimeHost', 'instanceId', 'region', 'apiURL', 'tenantURL', 'scopes']),
    );
    for (const name of PROVIDER_TEMPLATE_VARIABLES) expect(TEMPLATE_VARIABLES).toContain(name);
    expect(TEMPLATE_VARIABLES).toContain('token');
  });

  it('passthrough ids are recognisable in stored statuses', () => {
    expect(isPassthroughTokenId('passthrough:sha256:0123456789abcdef')).toBe(true);
    expect(isPassthroughTokenId('tok-1')).toBe(false);
    expect(isPassthroughTokenId(undefined)).toBe(false);
  });
});

describe('resolveProviderConfig (spec + credential → adapter config, no cast)', () => {
  const credential = new SecretValue('k');
  it('keeps the block of the type and applies the common defaults', () => {
    const spec = credentialsProviderSpecSchema.parse({
      type: 'rill',
      rill: { org: 'acme' },
      auth: { secretRef: { name: 's', key: 'k' } },
    }) as CredentialsProviderSpec;
    expect(resolveProviderConfig(spec, credential)).toEqual({
      type: 'rill',
      credential,
      rill: { org: 'acme', mode: 'serviceToken' },
      allowInsecureHttp: false,
      rateLimit: { requestsPerSecond: 5, burst: 10 },
      timeoutMs: 10_000,
    });
  });
  it('reads timeout and rate limit', () => {
    const spec = credentialsProviderSpecSchema.parse({
      type: 'iomete',
      url: 'https://i.example',
      timeout: '1m30s',
      rateLimit: { requestsPerSecond: 2 },
      auth: { secretRef: { name: 's', key: 'k' } },
    }) as CredentialsProviderSpec;
    expect(resolveProviderConfig(spec, credential)).toMatchObject({
      url: 'https://i.example',
      timeoutMs: 90_000,
      rateLimit: { requestsPerSecond: 2, burst: 10 },
    });
  });
});
