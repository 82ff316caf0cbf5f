import { describe, expect, it } from 'vitest';
import {
  type ClusterCredentialsProviderSpec,
  clusterCredentialsProviderSpecSchema,
  credentialsProviderSpecSchema,
  type ServiceAccountTokenSpec,
  serviceAccountTokenSpecSchema,
} from '../../../src/api/v1alpha1/index.ts';
import { resolveProviderConfig } from '../../../src/controller/provider-resolver.ts';
import { validateTemplate } from '../../../src/controller/template.ts';
import { createProviderClient, providerModule } from '../../../src/providers/registry.ts';
import { refuseUndocumented } from '../../../src/providers/request-fields.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import { sampleDocs } from '../../support/samples.ts';

/**
 * Every sample ServiceAccountToken fits the provider it names: the adapter can be built from the sample provider,
 * the token asks only for fields that vendor documents, and its template uses only variables tokensync offers
 * (the common ones and the provider's own). A sample a user copies must not fail on first apply.
 */
const docs = sampleDocs();
const providers = docs.filter((d) => d.object.kind.endsWith('CredentialsProvider'));
const tokens = docs.filter((d) => d.object.kind === 'ServiceAccountToken');
const COMMON = ['token', 'tokenId', 'expiresAt', 'serviceAccount', 'scopes'];

describe('deploy/samples fit their providers', () => {
  it.each(tokens.map((t) => [`${t.file}: ${t.id}`, t] as const))('%s', async (_label, token) => {
    const spec = serviceAccountTokenSpecSchema.parse(token.object['spec']) as ServiceAccountTokenSpec;
    const ref = spec.providerRef;
    const provider = providers.find(
      (p) => p.object.metadata.name === ref.name && p.object.kind === (ref.kind ?? 'CredentialsProvider'),
    );
    expect(provider, `provider ${ref.name} in the samples`).toBeDefined();
    const schema =
      provider!.object.kind === 'ClusterCredentialsProvider'
        ? clusterCredentialsProviderSpecSchema
        : credentialsProviderSpecSchema;
    const providerSpec = schema.parse(provider!.object['spec']) as ClusterCredentialsProviderSpec;
    // A credential of the documented shape for each vendor (Customer.io's check looks at it).
    const config = resolveProviderConfig(providerSpec, new SecretValue('sa_live_placeholder-credential'));
    const client = createProviderClient(config, {});
    expect(() =>
      refuseUndocumented(
        config.type,
        client.capabilities.accepts,
        {
          name: 'n',
          readOnly: spec.readOnly ?? false,
          scopes: spec.scopes ?? [],
          attributes: spec.attributes ?? {},
          owner: { namespace: 'ns', name: 'n', uid: 'u' },
        },
        'sample',
      ),
    ).not.toThrow();
    if (spec.secret?.template) {
      expect(validateTemplate(spec.secret.template)).toEqual([]);
      const offered = new Set([...COMMON, ...providerModule(config.type).templateVariables]);
      for (const text of Object.values(spec.secret.template)) {
        for (const [, variable] of text.matchAll(/\{\{\s*\.([A-Za-z]+)/g)) {
          expect(offered, `${token.id} uses .${variable}, which ${config.type} does not offer`).toContain(variable);
        }
      }
    }
    await client.close?.();
  });
});
