import type { Dispatcher } from 'undici';
import type { ProviderType } from '../api/v1alpha1/provider.ts';
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
  /** Extra non-secret values offered to Secret templates (e.g. tenantURL, scopes). */
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

export interface ProviderCapabilities {
  /** mint: the API creates tokens; exchange: a source credential is exchanged for a short-lived one;
   *  passthrough: no management API, the credential itself is the token. */
  mode: 'mint' | 'exchange' | 'passthrough';
  /** Tokens can be revoked upstream. */
  revoke: boolean;
  /** A token can be found by its deterministic name (crash recovery). Otherwise short TTLs bound a leak. */
  lookupByName: boolean;
  /** Tokens of a service account can be listed (orphan detection). */
  list: boolean;
  /** Whether minted tokens expire: always, when asked (optional), or never. */
  expiry: 'always' | 'optional' | 'never';
}

/** One small interface per credentials API (ESO's provider model). */
export interface ProviderClient {
  readonly type: ProviderType;
  readonly capabilities: ProviderCapabilities;
  issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken>;
  /** Idempotent: NotFound upstream resolves normally. Throws Unsupported when capabilities.revoke is false. */
  revoke(ref: TokenRef, signal?: AbortSignal): Promise<void>;
  /** undefined when no such token exists (or it is revoked). */
  lookup(ref: { name: string; serviceAccount?: string }, signal?: AbortSignal): Promise<TokenInfo | undefined>;
  list(serviceAccount: string | undefined, signal?: AbortSignal): Promise<TokenInfo[]>;
  /** Reachability and authentication, for the provider's Ready condition. Throws a ProviderError. */
  check(signal?: AbortSignal): Promise<void>;
  /** Release keep-alive connections (the Agent the adapter created, never an injected dispatcher). Optional. */
  close?(): Promise<void>;
}

/** A provider spec with its management credential resolved from the referenced Secret. */
export interface ResolvedProviderConfig {
  type: ProviderType;
  url?: string;
  credential: SecretValue;
  iomete?: { domain?: string };
  rill?: { org: string; mode: 'serviceToken' | 'ephemeral'; project?: string };
  augment?: { tenantURL: string };
  customerio?: { region: 'us' | 'eu' };
  http?: {
    issue: HttpEndpoint;
    revoke?: HttpEndpoint;
    lookup?: HttpEndpoint;
    valuePointer: string;
    idPointer: string;
    expiresAtPointer?: string;
  };
  caBundle?: string;
  allowInsecureHttp: boolean;
  rateLimit: { requestsPerSecond: number; burst: number };
  timeoutMs: number;
}

export interface HttpEndpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: string;
}

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
  now?: () => number;
  /** Observes every upstream request (metrics). */
  onRequest?: (event: { operation: string; statusCode: number | 'error'; durationMs: number }) => void;
}

export type ProviderFactory = (config: ResolvedProviderConfig, deps: ProviderDeps) => ProviderClient;
