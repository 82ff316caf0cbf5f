import { createHash } from 'node:crypto';
import {
  type AnyProvider,
  type ClusterCredentialsProviderSpec,
  Reason,
  type ServiceAccountToken,
} from '../api/v1alpha1/index.ts';
import type { Metrics } from '../observability/metrics.ts';
import { TokenBucket } from '../providers/rate-limiter.ts';
import { createProviderClient } from '../providers/registry.ts';
import {
  DEFAULT_EGRESS_POLICY,
  EgressConfigError,
  type EgressPolicy,
  egressPolicyFor,
} from '../providers/transport/egress-policy.ts';
import type { ProviderClient, ResolvedProviderConfig } from '../providers/types.ts';
import { parseDuration } from './durations.ts';
import { matchesSelector } from './label-selector.ts';
import type { KubePort } from './ports.ts';

export type Resolution =
  | { ok: true; provider: AnyProvider; client: ProviderClient; providerKey: string; credentialFingerprint: string }
  | { ok: false; reason: string; message: string };

interface CachedClient {
  /** provider uid + generation + credential fingerprint: any change builds a new client. */
  identity: string;
  client: ProviderClient;
  fingerprint: string;
  expiresAt: number;
}

export interface ProviderResolverOptions {
  kube: KubePort;
  getProvider(namespace: string, name: string): AnyProvider | undefined;
  getClusterProvider(name: string): AnyProvider | undefined;
  metrics?: Metrics;
  now?: () => number;
  /** How long a resolved management credential is trusted before it is read again. */
  credentialTtlMs?: number;
  createClient?: typeof createProviderClient;
  /** The controller-wide egress policy (--egress-allow and friends). Default: DEFAULT_EGRESS_POLICY. */
  egress?: EgressPolicy;
}

/**
 * Finds the provider a ServiceAccountToken names, checks it may be used from the token's namespace, reads its
 * management credential and hands out one client per provider. Clients share one rate limiter per provider,
 * kept across client rebuilds so a credential rotation cannot reset the budget.
 */
/**
 * The one key of a provider, used for its client, its rate limiter, its work-queue entry and its metric label:
 * `namespace/name`, or `cluster/name` for a ClusterCredentialsProvider.
 */
export function providerKeyOf(provider: AnyProvider): string {
  return provider.kind === 'ClusterCredentialsProvider'
    ? `cluster/${provider.metadata.name}`
    : `${provider.metadata.namespace}/${provider.metadata.name}`;
}

export class ProviderResolver {
  readonly #options: ProviderResolverOptions;
  readonly #clients = new Map<string, CachedClient>();
  readonly #limiters = new Map<string, { key: string; bucket: TokenBucket }>();

  constructor(options: ProviderResolverOptions) {
    this.#options = options;
  }

  /** Forgets cached clients of a provider (its spec or credential changed, or auth failed). */
  invalidate(providerKey: string): void {
    this.#clients.delete(providerKey);
  }

  /** A provider on its own (for its Ready check), without a token's namespace rules. */
  async resolveProvider(provider: AnyProvider): Promise<Resolution> {
    const providerKey = providerKeyOf(provider);
    try {
      const cached = await this.#client(provider, providerKey);
      return { ok: true, provider, client: cached.client, providerKey, credentialFingerprint: cached.fingerprint };
    } catch (error) {
      const reason = error instanceof EgressConfigError ? Reason.InvalidSpec : Reason.CredentialMissing;
      return { ok: false, reason, message: (error as Error).message };
    }
  }

  async resolve(sat: ServiceAccountToken): Promise<Resolution> {
    const ref = sat.spec.providerRef;
    const namespace = sat.metadata.namespace!;
    const cluster = ref.kind === 'ClusterCredentialsProvider';
    const provider = cluster
      ? this.#options.getClusterProvider(ref.name)
      : this.#options.getProvider(namespace, ref.name);
    if (!provider) {
      return {
        ok: false,
        reason: Reason.ProviderNotReady,
        message: `${ref.kind ?? 'CredentialsProvider'} ${ref.name} not found${cluster ? '' : ` in namespace ${namespace}`}`,
      };
    }
    if (cluster) {
      const selector = (provider.spec as ClusterCredentialsProviderSpec).namespaceSelector;
      const labels = await this.#options.kube.namespaceLabels(namespace);
      if (!selector || !labels || !matchesSelector(selector, labels)) {
        return {
          ok: false,
          reason: Reason.ProviderNotAllowed,
          message: `ClusterCredentialsProvider ${ref.name} does not admit namespace ${namespace} (spec.namespaceSelector)`,
        };
      }
    }
    return this.resolveProvider(provider);
  }

  async #client(provider: AnyProvider, providerKey: string): Promise<CachedClient> {
    const now = (this.#options.now ?? Date.now)();
    const existing = this.#clients.get(providerKey);
    const base = `${provider.metadata.uid}/${provider.metadata.generation}`;
    if (existing?.identity.startsWith(base) && existing.expiresAt > now) return existing;

    const spec = provider.spec;
    // Before the credential is read: a bad spec.egress.allow is the spec's fault, whatever the Secret holds.
    const egress = egressPolicyFor(this.#options.egress ?? DEFAULT_EGRESS_POLICY, provider);
    const secretRef = spec.auth?.secretRef as { name: string; key: string; namespace?: string } | undefined;
    if (!secretRef) throw new Error(`${provider.kind} ${provider.metadata.name} has no spec.auth.secretRef`);
    const secretNamespace = secretRef.namespace ?? provider.metadata.namespace;
    if (!secretNamespace)
      throw new Error(`${provider.kind} ${provider.metadata.name}: auth.secretRef.namespace is required`);
    const credential = await this.#options.kube.readSecretKey(secretNamespace, secretRef.name, secretRef.key);
    if (!credential) {
      throw new Error(
        `management credential Secret ${secretNamespace}/${secretRef.name} key "${secretRef.key}" not found (${provider.kind} ${provider.metadata.name})`,
      );
    }
    const fingerprint = `sha256:${createHash('sha256').update(credential.reveal()).digest('hex').slice(0, 16)}`;
    if (existing && existing.identity === `${base}/${fingerprint}`) {
      existing.expiresAt = now + (this.#options.credentialTtlMs ?? 30_000);
      return existing;
    }
    const rate = { requestsPerSecond: spec.rateLimit?.requestsPerSecond ?? 5, burst: spec.rateLimit?.burst ?? 10 };
    const limiterKey = `${rate.requestsPerSecond}/${rate.burst}`;
    let limiter = this.#limiters.get(providerKey);
    if (!limiter || limiter.key !== limiterKey) {
      limiter = { key: limiterKey, bucket: new TokenBucket(rate) };
      this.#limiters.set(providerKey, limiter);
    }
    const config: ResolvedProviderConfig = {
      type: spec.type,
      ...(spec.url ? { url: spec.url } : {}),
      credential,
      ...(spec.iomete ? { iomete: spec.iomete } : {}),
      ...(spec.rill ? { rill: spec.rill } : {}),
      ...(spec.augment ? { augment: spec.augment } : {}),
      ...(spec.customerio ? { customerio: spec.customerio } : {}),
      ...(spec.http ? { http: spec.http } : {}),
      ...(spec.caBundle ? { caBundle: spec.caBundle } : {}),
      allowInsecureHttp: spec.allowInsecureHttp ?? false,
      rateLimit: rate,
      timeoutMs: spec.timeout ? parseDuration(spec.timeout) : 10_000,
    } as ResolvedProviderConfig;
    const metrics = this.#options.metrics;
    const providerLabel = providerKey;
    const client = (this.#options.createClient ?? createProviderClient)(config, {
      limiter: limiter.bucket,
      egress,
      ...(metrics
        ? {
            onRequest: ({ operation, statusCode, durationMs }) => {
              metrics.upstreamRequests.inc({ provider: providerLabel, operation, code: String(statusCode) });
              metrics.upstreamDuration.observe({ provider: providerLabel, operation }, durationMs / 1000);
            },
          }
        : {}),
    });
    const cached: CachedClient = {
      identity: `${base}/${fingerprint}`,
      client,
      fingerprint,
      expiresAt: now + (this.#options.credentialTtlMs ?? 30_000),
    };
    this.#clients.set(providerKey, cached);
    return cached;
  }
}
