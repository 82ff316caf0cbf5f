import type { z } from 'zod';
import { augmentConfigSchema } from './augment.ts';
import { customerioConfigSchema } from './customerio.ts';
import { httpConfigSchema } from './http.ts';
import { iometeConfigSchema } from './iomete.ts';
import { referenceConfigSchema } from './reference.ts';
import { rillConfigSchema } from './rill.ts';

/** The credentials APIs tokensync can speak; one adapter folder each under src/providers/. */
export const PROVIDER_TYPES = ['reference', 'iomete', 'rill', 'customerio', 'augment', 'http'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/**
 * The per-type provider settings, declared once: `spec.<type>` of a (Cluster)CredentialsProvider. The CRD is
 * generated from these schemas (through provider.ts), and each adapter folder under src/providers/ imports its own
 * schema from here as its ProviderModule.configSchema, so the API stays at the bottom of the import graph.
 */
export const PROVIDER_CONFIG_SCHEMAS = {
  reference: referenceConfigSchema,
  iomete: iometeConfigSchema,
  rill: rillConfigSchema,
  customerio: customerioConfigSchema,
  augment: augmentConfigSchema,
  http: httpConfigSchema,
} as const satisfies Record<ProviderType, z.ZodType>;

/** Settings of one type after parsing (defaults applied), as an adapter receives them. */
export type ProviderConfigOf<T extends ProviderType> = z.output<(typeof PROVIDER_CONFIG_SCHEMAS)[T]>;
/** Settings of one type as written in a spec (defaults not applied yet). */
export type ProviderConfigInputOf<T extends ProviderType> = z.input<(typeof PROVIDER_CONFIG_SCHEMAS)[T]>;

/** Types whose spec.<type> block has required fields, so the block itself is required. */
export const BLOCK_REQUIRED_TYPES: readonly ProviderType[] = ['rill', 'augment', 'http'];

/**
 * Types that need no spec.url: augment calls nothing, customerio derives its host from the region, rill defaults
 * to Rill Cloud (https://api.rilldata.com).
 */
export const URL_OPTIONAL_TYPES: readonly ProviderType[] = ['augment', 'customerio', 'rill'];

export type { AugmentConfig } from './augment.ts';
export { CUSTOMERIO_API_HOSTS, type CustomerioConfig } from './customerio.ts';
export type { HttpConfig, HttpCredential, HttpEndpoint } from './http.ts';
export type { IometeConfig } from './iomete.ts';
export type { ReferenceConfig } from './reference.ts';
export type { RillConfig } from './rill.ts';
