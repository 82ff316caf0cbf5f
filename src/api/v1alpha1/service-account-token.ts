import { z } from 'zod';
import { conditionsSchema, duration, objectName, SECRET_KEY_PATTERN, secretKey } from './common.ts';
import { RESTART_TARGET_KINDS, renewalWindow, restartTarget } from './rotation.ts';

export const DELETION_POLICIES = ['Revoke', 'Retain'] as const;

const tokenNamePrefix = (description: string) =>
  z
    .string()
    .min(1)
    .max(40)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .optional()
    .meta({ description });

export const serviceAccountTokenSpecSchema = z
  .object({
    providerRef: z
      .object({
        kind: z
          .enum(['CredentialsProvider', 'ClusterCredentialsProvider'])
          .default('CredentialsProvider')
          .meta({ description: 'CredentialsProvider (same namespace) or ClusterCredentialsProvider.' }),
        name: objectName('Name of the provider.'),
      })
      .meta({
        description: 'The provider config that says which credentials API mints this token. Immutable.',
        'x-kubernetes-validations': [
          {
            rule: 'self == oldSelf',
            message: 'providerRef is immutable: delete and recreate the resource to move to another provider',
          },
        ],
      }),
    upstreamServiceAccount: z.string().max(253).optional().meta({
      description:
        "The vendor's service account the token is minted for (id or name, per provider): an account in the credentials API, not a Kubernetes ServiceAccount. Required by reference, iomete, rill serviceToken and http.",
    }),
    serviceAccount: z.string().max(253).optional().meta({
      description: 'Deprecated: the former name of upstreamServiceAccount, still accepted. Set one of the two.',
    }),
    tokenNamePrefix: tokenNamePrefix(
      'Prefix of the upstream token name. tokensync appends a deterministic suffix (resource uid and revision) so names never collide and a crashed mint can be found again. Default: metadata.name.',
    ),
    tokenName: tokenNamePrefix('Deprecated: the former name of tokenNamePrefix, still accepted. Set one of the two.'),
    readOnly: z.boolean().default(false).meta({
      description: 'Ask for a read-only token (IOMETE, reference, Customer.io scope=read_only).',
    }),
    scopes: z.array(z.string().max(128)).max(64).optional().meta({
      description: 'Provider-specific roles or scopes, e.g. Augment ["read","write"]. Changing them rotates the token.',
    }),
    attributes: z.record(z.string(), z.string().max(1024)).optional().meta({
      description:
        'Provider-specific attributes, e.g. Rill attributes, IOMETE maxRps. Changing them rotates the token.',
    }),
    lifetime: duration(
      'Requested lifetime of each token. Unset: the provider default, which may be "never expires" (then see rotation.every).',
    ).optional(),
    renewBefore: duration('Renew this long before expiry. Mutually exclusive with renewBeforePercentage.').optional(),
    renewBeforePercentage: z.number().int().min(1).max(99).optional().meta({
      description:
        'Renew when this percentage of the lifetime remains. Default when neither is set: 33 (renew at two thirds, as cert-manager does).',
    }),
    rotation: z
      .object({
        gracePeriod: duration(
          'How long an old token stays valid after the Secret holds its successor, so consumers can reload. Default 5m.',
        ).optional(),
        every: duration(
          'Rotate on this schedule even if the token never expires (e.g. Augment, Rill service tokens).',
        ).optional(),
      })
      .optional()
      .meta({ description: 'How rotation overlaps old and new tokens.' }),
    secret: z
      .object({
        name: objectName('Name of the Secret written. Default: metadata.name. Immutable.', {
          'x-kubernetes-validations': [
            { rule: 'self == oldSelf', message: 'secret.name is immutable: the old Secret would be orphaned' },
          ],
        }).optional(),
        labels: z.record(z.string(), z.string()).optional().meta({ description: 'Extra labels on the Secret.' }),
        annotations: z
          .record(z.string(), z.string())
          .optional()
          .meta({ description: 'Extra annotations on the Secret.' }),
        type: z
          .string()
          .max(253)
          .default('Opaque')
          .meta({
            description: "Secret type. Default Opaque. Immutable, as a Secret's type is.",
            'x-kubernetes-validations': [
              {
                rule: 'self == oldSelf',
                message: "secret.type is immutable: the API server cannot change a Secret's type",
              },
            ],
          }),
        template: z
          .record(secretKey('Secret data key.'), z.string().max(65536))
          .refine((t) => Object.keys(t).length <= 64, 'secret.template has at most 64 keys')
          .optional()
          .meta({
            description:
              'Secret data keys and their templates. Variables: {{ .token }}, {{ .tokenId }}, {{ .expiresAt }}, {{ .serviceAccount }}, {{ .scopes }}, and per provider type {{ .tenantURL }} (augment), {{ .runtimeHost }} and {{ .instanceId }} (rill ephemeral), {{ .region }} and {{ .apiURL }} (customerio); filters: | json, | base64. Default: {"token": "{{ .token }}"}. Changing the template rotates the token, since values are never stored to re-render.',
            maxProperties: 64,
            // Structural schemas cannot constrain map keys (propertyNames is dropped), so the API server checks them
            // with CEL: a bad key is refused at apply time instead of failing every Secret write.
            'x-kubernetes-validations': [
              {
                rule: `self.all(k, size(k) <= 253 && k.matches('${SECRET_KEY_PATTERN}'))`,
                message:
                  'secret.template keys must be valid Secret data keys: letters, digits, -, _ and . (at most 253)',
              },
            ],
          }),
      })
      .optional()
      .meta({
        description: 'The Secret that receives the token, and its format.',
        'x-kubernetes-validations': [
          {
            rule: 'has(self.name) == has(oldSelf.name)',
            message: 'secret.name cannot be added or removed after creation: the old Secret would be orphaned',
          },
        ],
      }),
    renewal: z
      .object({
        windows: z.array(renewalWindow).min(1).max(16).optional().meta({
          description:
            'Scheduled renewals happen only inside these windows: a renewal that falls due outside them waits for the next opening, but never so long that the token would expire (it is then renewed outside the windows, and the RenewalWindow condition says so). Renew requests, spec changes, repairs and expired tokens are acted on at once.',
        }),
      })
      .optional()
      .meta({ description: 'When scheduled renewals may happen.' }),
    restartTargets: z.array(restartTarget).max(16).optional().meta({
      description:
        'Workloads restarted after each rotation, for consumers that read the token only at start. The old token is revoked once every restarted workload has rolled out, at the latest when rotation.gracePeriod ends.',
    }),
    deletionPolicy: z.enum(DELETION_POLICIES).default('Revoke').meta({
      description: 'Revoke: revoke every live token upstream when this resource is deleted. Retain: leave them live.',
    }),
  })
  .meta({
    description: 'One desired upstream token, kept alive in one Secret.',
    'x-kubernetes-validations': [
      {
        rule: '!(has(self.serviceAccount) && has(self.upstreamServiceAccount))',
        message: 'set upstreamServiceAccount or its former name serviceAccount, not both',
      },
      {
        rule: '!(has(self.tokenName) && has(self.tokenNamePrefix))',
        message: 'set tokenNamePrefix or its former name tokenName, not both',
      },
      {
        rule: '!(has(self.renewBefore) && has(self.renewBeforePercentage))',
        message: 'set renewBefore or renewBeforePercentage, not both',
      },
      {
        rule: '!has(self.renewBefore) || (has(self.lifetime) && duration(self.renewBefore) < duration(self.lifetime))',
        message: 'renewBefore must be shorter than lifetime (and lifetime must be set)',
      },
      {
        rule: '!has(self.lifetime) || duration(self.lifetime) >= duration("1m")',
        message: 'lifetime must be at least 1m',
      },
      // The rules on spec.secret's own fields run only when the old object had a secret block too: these catch
      // a block added or removed as a whole.
      {
        rule: '(has(self.secret) && has(self.secret.name)) == (has(oldSelf.secret) && has(oldSelf.secret.name))',
        message: 'secret.name cannot be added or removed after creation: the old Secret would be orphaned',
      },
      {
        rule: "(has(self.secret) && has(self.secret.type) ? self.secret.type : 'Opaque') == (has(oldSelf.secret) && has(oldSelf.secret.type) ? oldSelf.secret.type : 'Opaque')",
        message: "secret.type is immutable: the API server cannot change a Secret's type",
      },
    ],
  });

const tokenRef = z.object({
  tokenId: z.string().max(512).meta({ description: 'Upstream id (or name) of the token. Never the value.' }),
  revision: z.number().int().min(0).optional().meta({ description: 'Revision that minted it.' }),
  name: z.string().max(512).optional().meta({ description: 'Upstream token name.' }),
});

export const serviceAccountTokenStatusSchema = z
  .object({
    conditions: conditionsSchema.optional(),
    observedGeneration: z.number().int().optional().meta({ description: 'metadata.generation last acted on.' }),
    tokenId: z
      .string()
      .max(512)
      .optional()
      .meta({ description: 'Upstream id of the token in the Secret. Never the value.' }),
    tokenName: z.string().max(512).optional().meta({ description: 'Upstream name of the token in the Secret.' }),
    revision: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Number of tokens minted for this resource so far.' }),
    issuedAt: z.string().optional().meta({ description: 'When the current token was minted (RFC 3339).' }),
    expiresAt: z.string().optional().meta({ description: 'When the current token expires (RFC 3339). Unset: never.' }),
    renewalTime: z.string().optional().meta({ description: 'When tokensync will rotate the token (RFC 3339).' }),
    secretName: z.string().optional().meta({ description: 'Name of the Secret holding the token.' }),
    secretHash: z.string().max(128).optional().meta({
      description:
        'Keyed hash (HMAC, with a key only the controller holds) of the Secret data as last written: an out-of-band edit changes it. Not reversible.',
    }),
    secretResourceVersion: z.string().max(64).optional().meta({
      description:
        'resourceVersion of the Secret as tokensync last wrote or checked it; any other version is read and compared with secretHash.',
    }),
    specHash: z.string().max(128).optional().meta({
      description: 'Hash of the spec fields that shape the token itself; a change rotates the token.',
    }),
    lastRenewRequest: z.string().max(64).optional().meta({
      description: 'Last tokensync.io/renew-requested-at annotation value acted on.',
    }),
    pending: tokenRef
      .extend({
        startedAt: z.string().meta({ description: 'When the mint call started.' }),
      })
      .optional()
      .meta({
        description:
          'Deprecated (tokensync 0.1): the journal of a mint in flight now lives in the tokensync.io/pending-mint annotation. Still honoured on recovery.',
      }),
    retiring: z
      .array(
        tokenRef.extend({
          revokeAt: z.string().meta({ description: 'When the grace period ends and the token is revoked.' }),
        }),
      )
      .max(32)
      .optional()
      .meta({
        description:
          'Old tokens inside their grace period, revoked at revokeAt. A rotation waits while this list is nearly full, so it never overflows.',
      }),
    restarts: z
      .object({
        revision: z.number().int().min(0).meta({ description: 'Revision whose Secret the restarts deliver.' }),
        requestedAt: z.string().max(64).meta({
          description:
            'When that Secret was written (RFC 3339, milliseconds): a rollout restart at or after it delivers the new token.',
        }),
        completedAt: z
          .string()
          .max(64)
          .optional()
          .meta({ description: 'When every restart target was handled. Unset: restarts are still owed.' }),
        workloads: z
          .array(
            z.object({
              kind: z.enum(RESTART_TARGET_KINDS).meta({ description: 'Kind of the workload.' }),
              name: z.string().max(253).optional().meta({ description: 'Name of the workload.' }),
              selector: z.string().max(1024).optional().meta({
                description:
                  'The selector of a target that could not be resolved (listing failed, or too many matches).',
              }),
              result: z
                .enum(['Restarted', 'NotFound', 'Failed'])
                .meta({ description: 'Restarted, NotFound (nothing to restart) or Failed (see Events).' }),
              generation: z
                .number()
                .int()
                .optional()
                .meta({ description: 'metadata.generation the restart produced; its rollout is awaited.' }),
            }),
          )
          .max(64)
          .optional()
          .meta({ description: 'Each workload the restart targets resolved to, and what happened to it.' }),
      })
      .optional()
      .meta({
        description:
          'The rollout restarts owed after the last rotation, and their outcome: the old token is revoked early once every restarted workload has rolled out.',
      }),
    lastFailure: z
      .string()
      .max(4096)
      .optional()
      .meta({ description: 'Message of the last failure (never a token value).' }),
    lastFailureTime: z.string().optional().meta({ description: 'When the last failure happened.' }),
    lastFailureReason: z.string().max(64).optional().meta({
      description: 'Condition reason of the last failure, e.g. UpstreamError, UpstreamRejected, SecretRejected.',
    }),
    nextAttemptAt: z.string().optional().meta({
      description:
        'After a failure: tokensync will not call the credentials API for this resource before this time (exponential backoff with jitter, at least the upstream Retry-After; 30s doubling to 1h for permanent refusals), unless the spec changes or a new tokensync.io/renew-requested-at value asks for an attempt now.',
    }),
    lastFailureRenewRequest: z.string().max(64).optional().meta({
      description:
        'The tokensync.io/renew-requested-at value the last failed attempt already saw: a new value (kubectl tokensync renew) retries at once despite nextAttemptAt, as does a spec change.',
    }),
    failureCount: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Consecutive failures since the last success.' }),
  })
  .meta({ description: 'Observed state of the token. Holds ids and times, never token values.' });

export type ServiceAccountTokenSpec = z.infer<typeof serviceAccountTokenSpecSchema>;
export type ServiceAccountTokenStatus = z.infer<typeof serviceAccountTokenStatusSchema>;
