import { z } from 'zod';

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

export type HttpEndpoint = z.output<typeof httpEndpoint>;

/** RFC 9110 field-name (token) characters. */
export const HTTP_HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/** Printable ASCII: a header value prefix can hold no CR/LF (no header injection). */
export const HTTP_HEADER_PREFIX_PATTERN = '^[\\x20-\\x7E]*$';

const httpCredential = z
  .object({
    header: z.string().min(1).max(128).regex(new RegExp(HTTP_HEADER_NAME_PATTERN)).optional().meta({
      description: 'Header that carries the management credential. Default: Authorization.',
    }),
    prefix: z.string().max(64).regex(new RegExp(HTTP_HEADER_PREFIX_PATTERN)).optional().meta({
      description:
        'Text written before the credential in that header, e.g. "Bearer " or "Token ". Default: "Bearer " for the Authorization header, nothing for any other header (e.g. X-API-Token: <credential>).',
    }),
    basic: z
      .object({
        username: z
          .string()
          .min(1)
          .max(256)
          .regex(/^[\x20-\x39\x3B-\x7E]+$/)
          .optional()
          .meta({
            description:
              'User name; the management credential is the password. Unset: the credential holds "username:password".',
          }),
      })
      .optional()
      .meta({
        description: 'Send the credential as HTTP Basic authentication (Authorization: Basic base64(user:password)).',
      }),
  })
  .meta({
    description: 'How the management credential is sent. Default: Authorization: Bearer <credential>.',
    'x-kubernetes-validations': [
      {
        rule: '!has(self.basic) || (!has(self.header) && !has(self.prefix))',
        message: 'http.credential.basic cannot be combined with header or prefix',
      },
    ],
  });

export type HttpCredential = z.output<typeof httpCredential>;

/** spec.http: a REST credentials API described call by call. */
export const httpConfigSchema = z
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
    credential: httpCredential.optional(),
  })
  .meta({ description: 'Settings of the generic http provider.' });

export type HttpConfig = z.output<typeof httpConfigSchema>;
