import { z } from 'zod';

/** Customer.io's API host per account region (Customer.io documents US and EU data centers). */
export const CUSTOMERIO_API_HOSTS = { us: 'https://api.customer.io', eu: 'https://api-eu.customer.io' } as const;

/** spec.customerio: Customer.io service accounts (a sa_live_ token exchanged for short-lived sessions). */
export const customerioConfigSchema = z
  .object({
    region: z.enum(['us', 'eu']).default('us').meta({
      description:
        'Region of the Customer.io account: selects the API host (us: https://api.customer.io, eu: https://api-eu.customer.io) unless spec.url overrides it, and is offered to Secret templates as {{ .region }} with {{ .apiURL }}.',
    }),
  })
  .meta({ description: 'Settings of the customerio provider.' });

export type CustomerioConfig = z.output<typeof customerioConfigSchema>;
