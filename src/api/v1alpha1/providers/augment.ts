import { z } from 'zod';

/** spec.augment: Augment has no token API; the credential is passed through with what session.json needs. */
export const augmentConfigSchema = z
  .object({
    tenantURL: z.string().url().max(2048).meta({
      description:
        'Tenant URL shown on top of the Augment service account list; offered to Secret templates as {{ .tenantURL }} for session.json.',
    }),
  })
  .meta({ description: 'Settings of the augment provider.' });

export type AugmentConfig = z.output<typeof augmentConfigSchema>;
