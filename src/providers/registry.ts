import type { ProviderType } from '../api/v1alpha1/provider.ts';
import { createAugmentProvider } from './augment/index.ts';
import { createCustomerioProvider } from './customerio/index.ts';
import { permanent } from './errors.ts';
import { createGenericHttpProvider } from './http/index.ts';
import { createIometeProvider } from './iomete/index.ts';
import { createReferenceProvider } from './reference/index.ts';
import { createRillProvider } from './rill/index.ts';
import type { ProviderClient, ProviderDeps, ProviderFactory, ResolvedProviderConfig } from './types.ts';

/** Explicit registration, one line per type (no side-effect imports, no discovery). */
const factories = new Map<ProviderType, ProviderFactory>();

export function registerProvider(type: ProviderType, factory: ProviderFactory): void {
  if (factories.has(type)) throw new Error(`provider type "${type}" is already registered`);
  factories.set(type, factory);
}

registerProvider('reference', createReferenceProvider);
registerProvider('iomete', createIometeProvider);
registerProvider('rill', createRillProvider);
registerProvider('customerio', createCustomerioProvider);
registerProvider('augment', createAugmentProvider);
registerProvider('http', createGenericHttpProvider);

export const registeredProviderTypes = (): ProviderType[] => [...factories.keys()];

/** Builds the adapter for a resolved provider. Configuration errors throw a Permanent ProviderError. */
export function createProviderClient(config: ResolvedProviderConfig, deps: ProviderDeps = {}): ProviderClient {
  const factory = factories.get(config.type);
  if (!factory) throw permanent(`unknown provider type "${config.type}"`);
  return factory(config, deps);
}
