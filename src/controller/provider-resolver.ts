import { createHash } from 'node:crypto';
import {
  type AnyProvider,
  type ClusterCredentialsProviderSpec,
  CREDENTIAL_LABEL,
  type CredentialsProviderSpec,
  type ObjectMeta,
  Reason,
  type ServiceAccountToken,
} from '../api/v1alpha1/index.ts';
import { type Clock, realClock } from '../clock.ts';
import type { NamespaceApi } from '../kube/namespaces.ts';
import type { SecretApi } from '../kube/secrets.ts';
import type { Metrics } from '../observability/metrics.ts';
import { TokenBucket } from '../providers/rate-limiter.ts';
import { createProviderClient } from '../providers/registry.ts';
import type { SecretValue } from '../providers/secret-value.ts';
import {
  DEFAULT_EGRESS_POLICY,
  EgressConfigError,
  type EgressPolicy,
  egressPolicyFor,
} from '../providers/transport/egress-policy.ts';
import type { ProviderClient, ResolvedProviderConfig } from '../providers/types.ts';
import { parseDuration } from './durations.ts';
import { matchesSelector } from './label-selector.ts';
import { upstreamAccountOf } from './naming.ts';

export type Resolution =
  | {
      ok: true;
      provider: AnyProvider;
      client: ProviderClient;
      providerKey: string;
      credentialFingerprint: string;
      /** The Secret the management credential was read from (for in-use protection). */
      credentialSecret: { namespace: string; name: string; metadata: ObjectMeta };
    }
  | { ok: false; reason: string; message: string };

/** A credential that cannot be used, with the condition reason to report. */
class CredentialError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

interface CachedClient {
  /** provider uid + generation + credential fingerprint: any change builds a new client. */
  identity: string;
  client: ProviderClient;
  fingerprint: string;
  credentialSecret: { namespace: string; name: string; metadata: ObjectMeta };
  expiresAt: number;
}

export interface ProviderResolverOptions {
  secrets: Pick<SecretApi, 'readKey'>;
  namespaces: Pick<NamespaceApi, 'labels'>;
  /**
   * Read a Secret as a credential only when it carries the tokensync.io/credential=true label (default true). Off
   * only for a migration from 0.1, where credential Secrets were not labelled.
   */
  requireCredentialLabel?: boolean;
  /**
   * Whether a Secret is labelled as a credential, from a metadata-only cache of labelled Secrets: a Secret that is
   * not is refused without being read at all. Absent (the plugin): the label is checked on the Secret read.
   */
  isLabelledCredential?: (namespace: string, name: string) => boolean;
  getProvider(namespace: string, name: string): AnyProvider | undefined;
  getClusterProvider(name: string): AnyProvider | undefined;
  metrics?: Metrics;
  clock?: Clock;
  /** How long a resolved management credential is trusted before it is read again. */
  credentialTtlMs?: number;
  createClient?: typeof createProviderClient;
  /** The controller-wide egress policy (--egress-allow and friends). Default: DEFAULT_EGRESS_POLICY. */
  egress?: EgressPolicy;
}

/**
 * A provider spec plus its management credential, as the adapters take it. Typed end to end: each per-type block
 * keeps the type its schema (src/api/v1alpha1/providers/<type>.ts) gives it, and the adapter's module re-parses it
 * (defaults, only the block of spec.type) when the client is built. Also for the kubectl plugin, which builds
 * clients from the same specs.
 */
export function resolveProviderConfig(
  spec: CredentialsProviderSpec | ClusterCredentialsProviderSpec,
  credential: SecretValue,
): ResolvedProviderConfig {
  return {
    type: spec.type,
    ...(spec.url ? { url: spec.url } : {}),
    credential,
    ...(spec.reference ? { reference: spec.reference } : {}),
    ...(spec.iomete ? { iomete: spec.iomete } : {}),
    ...(spec.rill ? { rill: spec.rill } : {}),
    ...(spec.customerio ? { customerio: spec.customerio } : {}),
    ...(spec.augment ? { augment: spec.augment } : {}),
    ...(spec.http ? { http: spec.http } : {}),
    ...(spec.caBundle ? { caBundle: spec.caBundle } : {}),
    allowInsecureHttp: spec.allowInsecureHttp ?? false,
    rateLimit: { requestsPerSecond: spec.rateLimit?.requestsPerSecond ?? 5, burst: spec.rateLimit?.burst ?? 10 },
    timeoutMs: spec.timeout ? parseDuration(spec.timeout) : 10_000,
  };
}

/**
 * The one key of a provider, used for its client, its rate limiter, its work-queue entry and its metric label:
 * `namespace/name`, or `cluster/name` for a ClusterCredentialsProvider.
 */
export function providerKeyOf(provider: AnyProvider): string {
  return provider.kind === 'ClusterCredentialsProvider'
    ? `cluster/${provider.metadata.name}`
    : `${provider.metadata.namespace}/${provider.metadata.name}`;
}

/**
 * Where the resolver keeps a provider's client and rate limiter: per object, not per key. "cluster/NAME" also names a
 * CredentialsProvider in a namespace called "cluster", which must neither share the ClusterCredentialsProvider's budget
 * nor evict its client.
 */
function slotOf(provider: AnyProvider): string {
  return `${provider.kind} ${providerKeyOf(provider)}`;
}

/** The key of the provider a token's providerRef names (as `providerKeyOf`), whether or not that provider exists. */
export function providerKeyOfRef(sat: ServiceAccountToken): string {
  const ref = sat.spec.providerRef;
  return ref.kind === 'ClusterCredentialsProvider' ? `cluster/${ref.name}` : `${sat.metadata.namespace}/${ref.name}`;
}

/**
 * Finds the provider a ServiceAccountToken names, checks it may be used from the token's namespace, reads its
 * management credential and hands out one client per provider. Clients share one rate limiter per provider,
 * kept across client rebuilds so a credential rotation cannot reset the budget.
 */
/** Whether a rule that covers a namespace with these labels lists the account (`*` matches any run of characters). */
export function accountAllowed(
  rules: NonNullable<ClusterCredentialsProviderSpec['allowedServiceAccounts']>,
  namespaceLabels: Record<string, string>,
  account: string,
): boolean {
  return rules.some(
    (rule) =>
      (!rule.namespaceSelector || matchesSelector(rule.namespaceSelector, namespaceLabels)) &&
      rule.names.some((pattern) => globMatches(pattern, account)),
  );
}

function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(value);
}

export class ProviderResolver {
  readonly #options: ProviderResolverOptions;
  readonly #clients = new Map<string, CachedClient>();
  readonly #limiters = new Map<string, { key: string; bucket: TokenBucket }>();

  constructor(options: ProviderResolverOptions) {
    this.#options = options;
  }

  /**
   * Makes the next resolution re-read the provider's management credential. The client is kept when neither the
   * provider's generation nor the credential changed, so what it remembers (Customer.io's last exchange outcome,
   * its keep-alive connections) survives a readiness check; any change builds a new client.
   */
  invalidate(provider: AnyProvider): void {
    const cached = this.#clients.get(slotOf(provider));
    if (cached) cached.expiresAt = 0;
  }

  /** A provider on its own (for its Ready check), without a token's namespace rules. */
  async resolveProvider(provider: AnyProvider): Promise<Resolution> {
    const providerKey = providerKeyOf(provider);
    try {
      const cached = await this.#client(provider, providerKey);
      return {
        ok: true,
        provider,
        client: cached.client,
        providerKey,
        credentialFingerprint: cached.fingerprint,
        credentialSecret: cached.credentialSecret,
      };
    } catch (error) {
      const reason =
        error instanceof CredentialError
          ? error.reason
          : error instanceof EgressConfigError
            ? Reason.InvalidSpec
            : Reason.CredentialMissing;
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
      const labels = await this.#options.namespaces.labels(namespace);
      if (!selector || !labels || !matchesSelector(selector, labels)) {
        return {
          ok: false,
          reason: Reason.ProviderNotAllowed,
          message: `ClusterCredentialsProvider ${ref.name} does not admit namespace ${namespace} (spec.namespaceSelector)`,
        };
      }
      const account = upstreamAccountOf(sat);
      const rules = (provider.spec as ClusterCredentialsProviderSpec).allowedServiceAccounts;
      if (rules && account !== undefined && !accountAllowed(rules, labels, account)) {
        return {
          ok: false,
          reason: Reason.ServiceAccountNotAllowed,
          message: `ClusterCredentialsProvider ${ref.name} does not let namespace ${namespace} mint for upstream service account "${account}" (spec.allowedServiceAccounts)`,
        };
      }
    }
    return this.resolveProvider(provider);
  }

  async #client(provider: AnyProvider, providerKey: string): Promise<CachedClient> {
    const now = (this.#options.clock ?? realClock).now();
    const slot = slotOf(provider);
    const existing = this.#clients.get(slot);
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
    const requireLabel = this.#options.requireCredentialLabel ?? true;
    const notMarked = `Secret ${secretNamespace}/${secretRef.name} is not marked as a provider credential: whoever may read it can allow it with kubectl label secret ${secretRef.name} -n ${secretNamespace} ${CREDENTIAL_LABEL}=true`;
    // Decided on metadata alone, before any read: an unmarked Secret's data never reaches this process.
    if (requireLabel && this.#options.isLabelledCredential?.(secretNamespace, secretRef.name) === false) {
      throw new CredentialError(Reason.CredentialNotAllowed, `${notMarked} (or it does not exist)`);
    }
    const read = await this.#options.secrets.readKey(secretNamespace, secretRef.name, secretRef.key);
    if (!read) {
      throw new CredentialError(
        Reason.CredentialMissing,
        `management credential Secret ${secretNamespace}/${secretRef.name} key "${secretRef.key}" not found (${provider.kind} ${provider.metadata.name})`,
      );
    }
    if (requireLabel && read.metadata.labels?.[CREDENTIAL_LABEL] !== 'true') {
      throw new CredentialError(Reason.CredentialNotAllowed, notMarked);
    }
    const credential = read.value;
    const credentialSecret = { namespace: secretNamespace, name: secretRef.name, metadata: read.metadata };
    const fingerprint = `sha256:${createHash('sha256').update(credential.reveal()).digest('hex').slice(0, 16)}`;
    if (existing && existing.identity === `${base}/${fingerprint}`) {
      existing.expiresAt = now + (this.#options.credentialTtlMs ?? 30_000);
      existing.credentialSecret = credentialSecret;
      return existing;
    }
    const config = resolveProviderConfig(spec, credential);
    const rate = config.rateLimit;
    const limiterKey = `${rate.requestsPerSecond}/${rate.burst}`;
    let limiter = this.#limiters.get(slot);
    if (!limiter || limiter.key !== limiterKey) {
      limiter = { key: limiterKey, bucket: new TokenBucket(rate) };
      this.#limiters.set(slot, limiter);
    }
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
      credentialSecret,
      expiresAt: now + (this.#options.credentialTtlMs ?? 30_000),
    };
    this.#clients.set(slot, cached);
    // The replaced client's keep-alive connections are released; an in-flight call on it still completes.
    if (existing) void existing.client.close?.().catch(() => undefined);
    return cached;
  }
}
