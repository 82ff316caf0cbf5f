import { PROVIDER_TYPES, type ProviderType } from '../api/v1alpha1/provider.ts';
import { augmentProvider } from './augment/index.ts';
import { customerioProvider } from './customerio/index.ts';
import { permanent } from './errors.ts';
import { httpProvider } from './http/index.ts';
import { iometeProvider } from './iomete/index.ts';
import { referenceProvider } from './reference/index.ts';
import { rillProvider } from './rill/index.ts';
import type {
  CommonProviderConfig,
  ProviderCapabilities,
  ProviderClient,
  ProviderDeps,
  ProviderModule,
  ResolvedProviderConfig,
} from './types.ts';

/** A module as the registry holds it: its settings type fixed when it was listed, so callers need no generics. */
export interface RegisteredProvider {
  readonly type: ProviderType;
  readonly templateVariables: readonly string[];
  capabilities(config: ResolvedProviderConfig): ProviderCapabilities;
  create(config: ResolvedProviderConfig, deps: ProviderDeps): ProviderClient;
}

/**
 * Binds a module to the checks every type shares: only spec.<type> may be set, and it must parse with the
 * module's schema (defaults applied). A wrong block is a Permanent error naming the field.
 */
export function registered<T extends ProviderType>(module: ProviderModule<T>): RegisteredProvider {
  const settingsOf = (config: ResolvedProviderConfig) => {
    if (config.type !== module.type) {
      throw permanent(`provider type "${config.type}" was handed to the ${module.type} adapter`);
    }
    for (const other of PROVIDER_TYPES) {
      if (other !== module.type && config[other] !== undefined) {
        throw permanent(`${module.type}: spec.${other} is only allowed when type is ${other}; remove it`);
      }
    }
    const parsed = module.configSchema.safeParse(config[module.type] ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues
        .slice(0, 5)
        .map((issue) => `spec.${[module.type, ...issue.path].join('.')}: ${issue.message}`)
        .join('; ');
      throw permanent(`${module.type}: invalid settings: ${problems}`);
    }
    return parsed.data;
  };
  return {
    type: module.type,
    templateVariables: module.templateVariables,
    capabilities: (config) => module.capabilities(settingsOf(config)),
    create: (config, deps) =>
      module.create({ ...common(config), type: module.type, settings: settingsOf(config) }, deps),
  };
}

function common(config: ResolvedProviderConfig): CommonProviderConfig {
  return {
    ...(config.url === undefined ? {} : { url: config.url }),
    credential: config.credential,
    ...(config.caBundle === undefined ? {} : { caBundle: config.caBundle }),
    allowInsecureHttp: config.allowInsecureHttp,
    rateLimit: config.rateLimit,
    timeoutMs: config.timeoutMs,
  };
}

/** Builds a registry from an explicit list; listing a type twice fails loudly (ESO's registration rule). */
export function providerRegistry(
  modules: readonly RegisteredProvider[],
): ReadonlyMap<ProviderType, RegisteredProvider> {
  const byType = new Map<ProviderType, RegisteredProvider>();
  for (const module of modules) {
    if (byType.has(module.type)) throw new Error(`provider type "${module.type}" is already registered`);
    byType.set(module.type, module);
  }
  return byType;
}

/** Every provider type, one line each. No side-effect imports, no discovery: adding a type is adding a line. */
const REGISTRY = providerRegistry([
  registered(referenceProvider),
  registered(iometeProvider),
  registered(rillProvider),
  registered(customerioProvider),
  registered(augmentProvider),
  registered(httpProvider),
]);

export const registeredProviderTypes = (): ProviderType[] => [...REGISTRY.keys()];

/** The module of a type. Throws a Permanent ProviderError for a type no module serves. */
export function providerModule(type: ProviderType): RegisteredProvider {
  const module = REGISTRY.get(type);
  if (!module) throw permanent(`unknown provider type "${type}"`);
  return module;
}

/** Builds the adapter for a resolved provider. Configuration errors throw a Permanent ProviderError. */
export function createProviderClient(config: ResolvedProviderConfig, deps: ProviderDeps = {}): ProviderClient {
  return providerModule(config.type).create(config, deps);
}

/** Every extra Secret template variable some provider offers (the controller's template check admits these). */
export const PROVIDER_TEMPLATE_VARIABLES: readonly string[] = [
  ...new Set([...REGISTRY.values()].flatMap((module) => module.templateVariables)),
];
