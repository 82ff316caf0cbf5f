import { z } from 'zod';

/**
 * spec.reference: the bundled reference credentials API (src/credentials-api), which serves IOMETE's paths and
 * adds what tokensync needs for its own tests (read-only tokens, scopes, descriptions, GET by name).
 */
export const referenceConfigSchema = z
  .object({
    domain: z.string().min(1).max(253).optional().meta({
      description: 'Use the domain-level endpoints (/api/v1/domains/{domain}/auth/...), as with iomete.domain.',
    }),
    revocation: z.enum(['Delete', 'Suspend']).default('Delete').meta({
      description: 'Delete (DELETE /tokens/{name}) or Suspend (PATCH status SUSPENDED), as with iomete.revocation.',
    }),
  })
  .meta({ description: 'Settings of the reference provider (the bundled credentials API).' });

export type ReferenceConfig = z.output<typeof referenceConfigSchema>;
