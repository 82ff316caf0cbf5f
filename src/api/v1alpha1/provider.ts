import { z } from 'zod';
import { conditionsSchema, duration, objectName, secretKey } from './common.ts';
import {
  BLOCK_REQUIRED_TYPES,
  PROVIDER_CONFIG_SCHEMAS as blocks,
  PROVIDER_TYPES,
  URL_OPTIONAL_TYPES,
} from './providers/index.ts';

export {
  BLOCK_REQUIRED_TYPES,
  PROVIDER_CONFIG_SCHEMAS,
  PROVIDER_TYPES,
  type ProviderConfigInputOf,
  type ProviderConfigOf,
  type ProviderType,
  URL_OPTIONAL_TYPES,
} from './providers/index.ts';

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
      description:
        'Base URL of the credentials API. Required except for augment (no API), customerio (derived from customerio.region) and rill (default https://api.rilldata.com).',
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
  // One block per type, schemas declared in ./providers/<type>.ts; only the block of spec.type may be set.
  reference: blocks.reference.optional(),
  iomete: blocks.iomete.optional(),
  rill: blocks.rill.optional(),
  augment: blocks.augment.optional(),
  customerio: blocks.customerio.optional(),
  http: blocks.http.optional(),
  caBundle: z.string().max(65536).optional().meta({
    description: 'PEM CA certificates that verify the credentials API. Unset: the system trust store.',
  }),
  allowInsecureHttp: z.boolean().default(false).meta({
    description:
      'Allow a plain http:// url: the management credential travels in clear. It does not widen where the provider may connect: the egress policy (controller flag --egress-allow) still decides, and denies loopback and private addresses by default.',
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

const quoted = (types: readonly string[]) => `[${types.map((t) => `'${t}'`).join(', ')}]`;

const typeRules = [
  {
    rule: `self.type in ${quoted(URL_OPTIONAL_TYPES)} || has(self.url)`,
    message: 'spec.url is required for this provider type',
  },
  ...BLOCK_REQUIRED_TYPES.map((type) => ({
    rule: `self.type != '${type}' || has(self.${type})`,
    message: `spec.${type === 'augment' ? 'augment.tenantURL' : type} is required when type is ${type}`,
  })),
  // A block of another type would be silently ignored: refuse it, so a typo in spec.type cannot go unnoticed.
  ...PROVIDER_TYPES.map((type) => ({
    rule: `!has(self.${type}) || self.type == '${type}'`,
    message: `spec.${type} is only allowed when type is ${type}`,
  })),
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

/** Loose shape check in the CRD; the controller parses each entry strictly and names a bad one in Ready=False. */
const EGRESS_ENTRY_PATTERN = '^[A-Za-z0-9*._:-]+(/[0-9]{1,3})?$';

const egressConfig = z
  .object({
    allow: z
      .array(z.string().min(1).max(253).regex(new RegExp(EGRESS_ENTRY_PATTERN)))
      .max(64)
      .optional()
      .meta({
        description:
          'Addresses (10.1.2.3, fd00::5), CIDRs (10.20.0.0/16) and host names (vault.corp, *.corp.example) this provider may connect to in addition to the controller-wide --egress-allow, inside ranges the egress policy denies by default (private, cluster service and pod ranges; loopback and link-local only by address or CIDR).',
      }),
  })
  .meta({
    description:
      'Where this provider may connect, beyond the controller-wide egress policy. Only on the cluster-scoped kind: namespaced CredentialsProviders, which tenants create, get the controller-wide policy as is.',
  });

const allowedServiceAccountsRule = z
  .object({
    namespaceSelector: labelSelector.optional().meta({
      description: 'Admitted namespaces this rule covers. Unset: every namespace spec.namespaceSelector admits.',
    }),
    names: z
      .array(
        z
          .string()
          .min(1)
          .max(253)
          .regex(/^[^\s]+$/),
      )
      .min(1)
      .max(64)
      .meta({
        description:
          'Upstream service accounts (spec.serviceAccount of a ServiceAccountToken) these namespaces may mint for; * matches any run of characters, e.g. "etl-*".',
      }),
  })
  .meta({ description: 'Which upstream service accounts the namespaces it selects may mint tokens for.' });

export const clusterCredentialsProviderSpecSchema = z
  .object({
    ...providerSpecFields('cluster'),
    namespaceSelector: labelSelector.optional().meta({
      description:
        'Namespaces whose ServiceAccountTokens may use this provider. Unset: none may, so a cluster-wide credential is never shared by accident; {} admits every namespace.',
    }),
    allowedServiceAccounts: z.array(allowedServiceAccountsRule).max(64).optional().meta({
      description:
        'Which upstream service accounts each admitted namespace may mint for: a token may use this provider only when a rule whose namespaceSelector matches its namespace lists its spec.serviceAccount. Unset: any account the credential can reach. Set it when one credential covers accounts of different trust (an administrative account next to application ones). Tokens without spec.serviceAccount (exchange and passthrough types) are not restricted by it.',
    }),
    egress: egressConfig.optional(),
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
