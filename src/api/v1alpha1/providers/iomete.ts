import { z } from 'zod';

/**
 * spec.iomete: IOMETE service-account access tokens. Everything here is documented by IOMETE ("Service Account
 * Access Tokens"): the admin- and domain-level endpoints, tokens addressed by name, suspension (PATCH status) and a
 * per-token requests-per-second cap (PATCH maxRps).
 */
export const iometeConfigSchema = z
  .object({
    domain: z.string().min(1).max(253).optional().meta({
      description:
        'IOMETE domain. Set: the domain-level endpoints (/api/v1/domains/{domain}/auth/service-accounts/...), which need access_token.manage or MANAGE_ACCESS_TOKEN. Unset: the admin-level endpoints (/api/v1/auth/service-accounts/...), which need an admin role. Either way the credential must share a group with the service account.',
    }),
    revocation: z.enum(['Delete', 'Suspend']).default('Delete').meta({
      description:
        'How a token is revoked. Delete: DELETE /tokens/{name}, the token is gone. Suspend: PATCH /tokens/{name} with status SUSPENDED, the token stops working but stays listed in IOMETE for audit.',
    }),
    maxRps: z.number().int().min(1).max(1_000_000).optional().meta({
      description:
        "Requests-per-second cap IOMETE enforces on each minted token, unless the ServiceAccountToken's attributes.maxRps sets its own. Unset: no cap.",
    }),
  })
  .meta({ description: 'Settings of the iomete provider.' });

export type IometeConfig = z.output<typeof iometeConfigSchema>;
