import { z } from 'zod';
import { conditionsSchema, duration, objectName, secretKey } from './common.ts';

/** The credentials APIs tokensync can speak; one adapter folder each under src/providers/. */
export const PROVIDER_TYPES = ['reference', 'iomete', 'rill', 'customerio', 'augment', 'http'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

const secretKeySelector = (scope: 'namespaced' | 'cluster') =>
  z
    .object({
      name: objectName('Name of the Secret that holds the value.'),
      key: secretKey('Key inside the Secret data.'),
      ...(scope === 'cluster'
        ? {
            namespace: objectName(
              'Namespace of the Secret. Required on a ClusterCredentialsProvider, which has no namespace of its own.',
            ),
          }
        : {}),
    })
    .meta({ description: 'A key of a Secret.' });

const httpEndpoint = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).meta({ description: 'HTTP method.' }),
    path: z.string().min(1).max(1024).meta({
      description:
        'Path relative to spec.url. Placeholders: {serviceAccount}, {tokenName}, {tokenId}, each URL-encoded.',
    }),
    body: z.string().max(8192).optional().meta({
      description:
        'JSON body template. Placeholders: {{ .serviceAccount }}, {{ .tokenName }}, {{ .lifetimeSeconds }}, {{ .readOnly }}, {{ .scopes }} (JSON-encoded).',
    }),
  })
  .meta({ description: 'One call of a generic REST credentials API.' });

const iometeConfig = z
  .object({
    domain: z.string().min(1).max(253).optional().meta({
      description:
        'IOMETE domain. Set: the domain-level endpoints (/api/v1/domains/{domain}/auth/...), which need access_token.manage or MANAGE_ACCESS_TOKEN. Unset: the admin-level endpoints (/api/v1/auth/...), which need an admin role.',
    }),
  })
  .meta({ description: 'Settings of the iomete (and reference) provider.' });

const rillConfig = z
  .object({
    org: z.string().min(1).max(253).meta({ description: 'Rill organization.' }),
    mode: z.enum(['serviceToken', 'ephemeral']).default('serviceToken').meta({
      description:
        'serviceToken: long-lived rill_svc_ tokens of a service (POST /v1/orgs/{org}/services/{service}/tokens), revocable. ephemeral: short-lived JWTs from POST /v1/orgs/{org}/projects/{project}/credentials, mint-only.',
    }),
    project: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .meta({ description: 'Rill project; required when mode is ephemeral.' }),
  })
  .meta({
    description: 'Settings of the rill provider.',
    'x-kubernetes-validations': [
      {
        rule: "self.mode != 'ephemeral' || has(self.project)",
        message: 'rill.project is required when rill.mode is ephemeral',
      },
    ],
  });

const augmentConfig = z
  .object({
    tenantURL: z.string().url().max(2048).meta({
      description: 'Tenant URL shown in the Augment service account settings; written into session.json.',
    }),
  })
  .meta({ description: 'Settings of the augment provider.' });

const customerioConfig = z
  .object({
    region: z.enum(['us', 'eu']).default('us').meta({ description: 'Customer.io account region.' }),
  })
  .meta({ description: 'Settings of the customerio provider.' });

const httpConfig = z
  .object({
    issue: httpEndpoint.meta({ description: 'Call that mints a token.' }),
    revoke: httpEndpoint
      .optional()
      .meta({ description: 'Call that revokes a token. Unset: tokens cannot be revoked.' }),
    lookup: httpEndpoint.optional().meta({
      description: 'Call that reads one token by name (200 = exists, 404 = gone). Enables crash recovery by name.',
    }),
    valuePointer: z.string().max(256).default('/token').meta({
      description: 'JSON pointer (RFC 6901) to the token value in the issue response.',
    }),
    idPointer: z.string().max(256).default('/id').meta({
      description: 'JSON pointer to the token id in the issue response; used to revoke it later.',
    }),
    expiresAtPointer: z.string().max(256).optional().meta({
      description: 'JSON pointer to the expiry (RFC 3339 string or epoch seconds) in the issue response.',
    }),
  })
  .meta({ description: 'Settings of the generic http provider.' });

const providerSpecFields = (scope: 'namespaced' | 'cluster') => ({
  type: z.enum(PROVIDER_TYPES).meta({
    description:
      'Which credentials API to call: reference (the bundled server), iomete, rill, customerio, augment, or http (generic REST).',
  }),
  url: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/[^\s]+$/)
    .optional()
    .meta({
      description: 'Base URL of the credentials API. Required by every type except augment.',
    }),
  auth: z
    .object({
      secretRef: secretKeySelector(scope).meta({
        description:
          'Secret key holding the management credential: an admin API key (reference, iomete, http), a Rill service token, a Customer.io sa_live_ token, or for augment the token to pass through.',
      }),
    })
    .optional()
    .meta({ description: 'The management credential tokensync uses to mint and revoke.' }),
  iomete: iometeConfig.optional(),
  rill: rillConfig.optional(),
  augment: augmentConfig.optional(),
  customerio: customerioConfig.optional(),
  http: httpConfig.optional(),
  caBundle: z.string().max(65536).optional().meta({
    description: 'PEM CA certificates that verify the credentials API. Unset: the system trust store.',
  }),
  allowInsecureHttp: z.boolean().default(false).meta({
    description:
      'Allow a plain http:// url. Only for loopback test servers: the management credential travels in clear.',
  }),
  rateLimit: z
    .object({
      requestsPerSecond: z.number().min(0.01).max(10000).default(5).meta({
        description: 'Sustained requests per second to this API, shared by every token that uses this provider.',
      }),
      burst: z
        .number()
        .int()
        .min(1)
        .max(10000)
        .default(10)
        .meta({ description: 'Requests allowed at once above the rate.' }),
    })
    .optional()
    .meta({
      description: 'Client-side limit of calls to this API, never exceeded. Default 5/s, burst 10.',
      // The schema's minimum compares an integer value with the minimum truncated to an integer, so 0 would pass.
      'x-kubernetes-validations': [
        {
          rule: '!has(self.requestsPerSecond) || self.requestsPerSecond >= 0.01',
          message: 'rateLimit.requestsPerSecond must be at least 0.01: a rate of 0 would never call the API',
        },
      ],
    }),
  timeout: duration('Timeout of one upstream request. Default 10s.').optional(),
});

const typeRules = [
  { rule: "self.type == 'augment' || has(self.url)", message: 'spec.url is required for this provider type' },
  {
    rule: "self.type != 'augment' || has(self.augment)",
    message: 'spec.augment.tenantURL is required when type is augment',
  },
  { rule: "self.type != 'rill' || has(self.rill)", message: 'spec.rill is required when type is rill' },
  { rule: "self.type != 'http' || has(self.http)", message: 'spec.http is required when type is http' },
  { rule: 'has(self.auth)', message: 'spec.auth.secretRef is required: it names the management credential' },
  {
    rule: "!has(self.url) || self.url.startsWith('https://') || (has(self.allowInsecureHttp) && self.allowInsecureHttp)",
    message: 'spec.url must be https:// unless spec.allowInsecureHttp is true',
  },
];

export const credentialsProviderSpecSchema = z.object(providerSpecFields('namespaced')).meta({
  description: 'Which credentials API to call and with which management credential.',
  'x-kubernetes-validations': typeRules,
});

const labelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional().meta({ description: 'Labels a namespace must all have.' }),
    matchExpressions: z
      .array(
        z.object({
          key: z.string().meta({ description: 'Label key.' }),
          operator: z
            .enum(['In', 'NotIn', 'Exists', 'DoesNotExist'])
            .meta({ description: 'How key relates to values.' }),
          values: z.array(z.string()).optional().meta({ description: 'Values for In and NotIn.' }),
        }),
      )
      .optional()
      .meta({ description: 'Label selector requirements, ANDed.' }),
  })
  .meta({ description: 'A Kubernetes label selector.' });

export const clusterCredentialsProviderSpecSchema = z
  .object({
    ...providerSpecFields('cluster'),
    namespaceSelector: labelSelector.optional().meta({
      description:
        'Namespaces whose ServiceAccountTokens may use this provider. Unset: none may, so a cluster-wide credential is never shared by accident; {} admits every namespace.',
    }),
  })
  .meta({
    description: 'Which credentials API to call and with which management credential, usable from selected namespaces.',
    'x-kubernetes-validations': typeRules,
  });

export const providerStatusSchema = z
  .object({
    conditions: conditionsSchema.optional(),
    observedGeneration: z.number().int().optional().meta({ description: 'metadata.generation last acted on.' }),
    lastCheckedAt: z
      .string()
      .optional()
      .meta({ description: 'When reachability and authentication were last checked.' }),
  })
  .meta({ description: 'Observed state of the provider. Ready=True means reachable and authenticated.' });

export type CredentialsProviderSpec = z.infer<typeof credentialsProviderSpecSchema>;
export type ClusterCredentialsProviderSpec = z.infer<typeof clusterCredentialsProviderSpecSchema>;
export type ProviderStatus = z.infer<typeof providerStatusSchema>;
