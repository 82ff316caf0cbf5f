import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { ProviderConfigInputOf, ProviderConfigOf, ProviderType } from '../api/v1alpha1/provider.ts';
import type { Clock } from '../clock.ts';
import type { SecretValue } from './secret-value.ts';
import type { LookupFunction } from './transport/egress-connector.ts';
import type { EgressPolicy } from './transport/egress-policy.ts';

/** Who a token is minted for; providers that support labels/descriptions record it, the audit view shows it. */
export interface TokenOwner {
  namespace: string;
  name: string;
  uid: string;
}

export interface IssueRequest {
  /** Upstream service account (id or name); absent for exchange/passthrough providers. */
  serviceAccount?: string;
  /** Deterministic upstream token name (see controller naming): the key for crash recovery by name. */
  name: string;
  /** Requested lifetime; undefined = provider default (possibly never expires). */
  lifetimeSeconds?: number;
  readOnly: boolean;
  scopes: string[];
  attributes: Record<string, string>;
  owner: TokenOwner;
}

export interface IssuedToken {
  /** Upstream id used to revoke; for name-addressed APIs (IOMETE, reference) the name. Never the value. */
  id: string;
  name: string;
  value: SecretValue;
  /** Undefined = never expires. */
  expiresAt?: Date;
  /** Extra non-secret values offered to Secret templates (e.g. tenantURL, runtimeHost, region). */
  templateData?: Record<string, string>;
}

export interface TokenRef {
  id: string;
  name?: string;
  serviceAccount?: string;
}

export interface TokenInfo {
  id: string;
  name: string;
  expiresAt?: Date;
  active: boolean;
}

/**
 * Which ServiceAccountToken request fields the vendor documents. Anything else is refused with a Permanent error
 * naming the field (never silently dropped: a read-only request must not yield a write-capable token).
 */
export interface AcceptedRequestFields {
  readOnly: boolean;
  scopes: boolean;
  /** Attribute keys the vendor documents; 'any' passes every attribute through (Rill ephemeral attributes). */
  attributes: readonly string[] | 'any';
}

export interface ProviderCapabilities {
  /** mint: the API creates tokens; exchange: a source credential is exchanged for a short-lived one;
   *  passthrough: no management API, the credential itself is the token (see ProviderClient.passthrough). */
  mode: 'mint' | 'exchange' | 'passthrough';
  /** Tokens can be revoked upstream. */
  revoke: boolean;
  /** A token can be found by its deterministic name (crash recovery). Otherwise short TTLs bound a leak. */
  lookupByName: boolean;
  /** Tokens of a service account can be listed (orphan detection, `kubectl tokensync revoke-orphans`). */
  list: boolean;
  /**
   * Whether minted tokens expire: always, when asked (optional), or never. `never` with a requested lifetime means
   * the lifetime is ignored by the vendor (the token controller's LifetimeHonored condition says so).
   */
  expiry: 'always' | 'optional' | 'never';
  /** The ServiceAccountToken fields this vendor documents (readOnly, scopes, attribute keys). */
  accepts: AcceptedRequestFields;
}

/** What a readiness check found, for the provider's Ready message. */
export interface CheckResult {
  /** Human-readable, e.g. "credential has the sa_live_ shape; last exchange succeeded". */
  message: string;
}

/** One small interface per credentials API (ESO's provider model). */
export interface ProviderClient {
  readonly type: ProviderType;
  readonly capabilities: ProviderCapabilities;
  /**
   * Present exactly when capabilities.mode is 'passthrough': the token id the current credential has (a
   * non-reversible fingerprint, `passthrough:sha256:…`). A ServiceAccountToken whose status.tokenId differs holds
   * an older credential: rewrite its Secret. The client is rebuilt when the credential changes, so this is stable.
   */
  readonly passthrough?: { readonly tokenId: string };
  issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken>;
  /**
   * Resolves only when the token is gone (or suspended, where that is the configured revocation) upstream; an
   * unknown token counts as gone. Throws Unsupported when capabilities.revoke is false.
   */
  revoke(ref: TokenRef, signal?: AbortSignal): Promise<void>;
  /** undefined when no such token exists (or it is revoked). */
  lookup(ref: { name: string; serviceAccount?: string }, signal?: AbortSignal): Promise<TokenInfo | undefined>;
  list(serviceAccount: string | undefined, signal?: AbortSignal): Promise<TokenInfo[]>;
  /**
   * Reachability and authentication, for the provider's Ready condition, without cost to the vendor: never mints a
   * token or a session. Throws a ProviderError; may return a message describing what was checked.
   */
  check(signal?: AbortSignal): Promise<CheckResult | undefined>;
  /** Release keep-alive connections (the Agent the adapter created, never an injected dispatcher). Optional. */
  close?(): Promise<void>;
}

/** Per-type blocks of a provider spec, as written (spec.iomete, spec.rill, ...): each typed from its schema. */
export type ProviderBlocks = { [T in ProviderType]?: ProviderConfigInputOf<T> };

/** What every adapter gets besides its own settings. */
export interface CommonProviderConfig {
  url?: string;
  credential: SecretValue;
  caBundle?: string;
  allowInsecureHttp: boolean;
  rateLimit: { requestsPerSecond: number; burst: number };
  timeoutMs: number;
}

/**
 * A provider spec with its management credential resolved from the referenced Secret (see config.ts,
 * `resolveProviderConfig`). The per-type block keeps its spec name, so this reads like the spec it came from.
 */
export type ResolvedProviderConfig = CommonProviderConfig & ProviderBlocks & { type: ProviderType };

/** What one module's `create` receives: the common part plus its own settings, parsed (defaults applied). */
export type ModuleConfig<T extends ProviderType> = CommonProviderConfig & {
  type: T;
  settings: ProviderConfigOf<T>;
};

export interface ProviderDeps {
  /**
   * undici dispatcher; tests pass a MockAgent. Default: an Agent with keep-alive, the config's CA bundle and the
   * egress connector. An injected dispatcher brings its own connector: the egress policy is not applied to it.
   */
  dispatcher?: Dispatcher;
  /** Which addresses this provider may connect to. Default: DEFAULT_EGRESS_POLICY (special and private ranges denied). */
  egress?: EgressPolicy;
  /** Host name resolution for the egress check; tests pass one that answers with loopback addresses. */
  lookup?: LookupFunction;
  /** Shared per provider: every resource using it goes through the same limiter. */
  limiter?: { acquire(signal?: AbortSignal): Promise<void> };
  /** The time source (src/clock.ts); default realClock. Tests inject one. */
  clock?: Pick<Clock, 'now'>;
  /** Observes every upstream request (metrics). */
  onRequest?: (event: { operation: string; statusCode: number | 'error'; durationMs: number }) => void;
}

/**
 * One credentials API, as External Secrets Operator's provider folders are: each folder under src/providers/
 * exports one of these, and registry.ts lists them all explicitly.
 */
export interface ProviderModule<T extends ProviderType = ProviderType> {
  readonly type: T;
  /** Schema of spec.<type>, imported from src/api/v1alpha1/providers/<type>.ts (the CRD is generated from it). */
  readonly configSchema: z.ZodType<ProviderConfigOf<T>, ProviderConfigInputOf<T>>;
  /**
   * Extra Secret template variables this type may put in IssuedToken.templateData (e.g. rill: runtimeHost and
   * instanceId, ephemeral mode only). Static, so templates can be validated before any provider is resolved.
   */
  readonly templateVariables: readonly string[];
  /** What clients built from these settings can do; the same object their `capabilities` property returns. */
  capabilities(settings: ProviderConfigOf<T>): ProviderCapabilities;
  /** Builds the client. Configuration errors throw a Permanent ProviderError. */
  create(config: ModuleConfig<T>, deps: ProviderDeps): ProviderClient;
}
