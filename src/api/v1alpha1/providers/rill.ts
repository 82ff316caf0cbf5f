import { z } from 'zod';

/** spec.rill: Rill Cloud's admin API (service tokens, and ephemeral project credentials issued with one). */
export const rillConfigSchema = z
  .object({
    org: z.string().min(1).max(253).meta({ description: 'Rill organization.' }),
    mode: z.enum(['serviceToken', 'ephemeral']).default('serviceToken').meta({
      description:
        'serviceToken: long-lived rill_svc_ tokens of a Rill service (the ServiceAccountToken serviceAccount), revocable, never expiring (rotate them with rotation.every). ephemeral: short-lived JWTs from POST /v1/orgs/{org}/projects/{project}/credentials, mint-only; the response also gives runtimeHost and instanceId to Secret templates.',
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

export type RillConfig = z.output<typeof rillConfigSchema>;
