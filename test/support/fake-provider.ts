import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderType } from '../../src/api/v1alpha1/provider.ts';
import { conflict, type ProviderError, unsupported } from '../../src/providers/errors.ts';
import { passthroughTokenId } from '../../src/providers/passthrough.ts';
import { SecretValue } from '../../src/providers/secret-value.ts';
import type {
  CheckResult,
  IssuedToken,
  IssueRequest,
  ProviderCapabilities,
  ProviderClient,
  TokenInfo,
  TokenRef,
} from '../../src/providers/types.ts';

/**
 * An in-memory ProviderClient for controller tests: no HTTP, deterministic, observable.
 *
 * - counters: `mints`, `revokes`, `lookups`, `lists`, `checks`, plus `calls` (every call in order);
 * - state: `tokens` (every token ever minted, by id), `liveTokens()` (names of tokens neither revoked nor expired);
 * - failures: `failNext(n, error, { operations })` makes the next n matching calls throw `error`;
 * - capabilities: constructor option or `setCapabilities()`; they change behaviour like a real adapter would
 *   (revoke throws Unsupported when revoke is false, lookup returns undefined without lookupByName, list throws
 *   Unsupported without list).
 *
 * Like the reference server, issuing a name that is still live throws a Conflict error (HTTP 409 semantics) unless
 * `duplicateNames: 'allow'`.
 */

export type FakeOperation = 'issue' | 'revoke' | 'lookup' | 'list' | 'check';

export interface FakeToken {
  id: string;
  name: string;
  serviceAccount: string | undefined;
  value: SecretValue;
  createdAt: Date;
  expiresAt: Date | undefined;
  revoked: boolean;
  request: IssueRequest;
}

export interface FakeCall {
  operation: FakeOperation;
  name?: string;
  id?: string;
  serviceAccount?: string;
}

export interface FakeProviderOptions {
  type?: ProviderType;
  capabilities?: Partial<ProviderCapabilities>;
  /** Clock for expiries; default Date.now. */
  now?: () => number;
  /** Lifetime used when a request has none and capabilities.expiry is 'always'. Default 3600 s. */
  defaultLifetimeSeconds?: number;
  /** 'conflict' (default): issuing a live name throws Conflict. 'allow': a new token with a new id is minted. */
  duplicateNames?: 'conflict' | 'allow';
  /** Artificial latency per call, in ms (honours the abort signal). Default 0. */
  latencyMs?: number;
  /** Caps every granted lifetime at this many seconds, like Customer.io caps sessions. */
  maxLifetimeSeconds?: number;
  /** With capabilities.mode 'passthrough': the credential passed through (its fingerprint is the token id). */
  passthroughCredential?: string;
}

interface FailureRule {
  remaining: number;
  error: ProviderError | (() => ProviderError);
  operations: ReadonlySet<FakeOperation> | undefined;
}

export const DEFAULT_FAKE_CAPABILITIES: ProviderCapabilities = {
  mode: 'mint',
  revoke: true,
  lookupByName: true,
  list: true,
  expiry: 'optional',
  accepts: { readOnly: true, scopes: true, attributes: 'any' },
};

export class FakeProvider implements ProviderClient {
  readonly type: ProviderType;
  #capabilities: ProviderCapabilities;
  readonly tokens = new Map<string, FakeToken>();
  readonly calls: FakeCall[] = [];
  mints = 0;
  revokes = 0;
  lookups = 0;
  lists = 0;
  checks = 0;
  readonly #now: () => number;
  readonly #defaultLifetimeSeconds: number;
  readonly #duplicateNames: 'conflict' | 'allow';
  readonly #latencyMs: number;
  readonly #maxLifetimeSeconds: number | undefined;
  readonly #passthroughCredential: string;
  #failures: FailureRule[] = [];
  #seq = 0;

  constructor(options: FakeProviderOptions = {}) {
    this.type = options.type ?? 'reference';
    this.#capabilities = { ...DEFAULT_FAKE_CAPABILITIES, ...options.capabilities };
    this.#now = options.now ?? Date.now;
    this.#defaultLifetimeSeconds = options.defaultLifetimeSeconds ?? 3600;
    this.#duplicateNames = options.duplicateNames ?? 'conflict';
    this.#latencyMs = options.latencyMs ?? 0;
    this.#maxLifetimeSeconds = options.maxLifetimeSeconds;
    this.#passthroughCredential = options.passthroughCredential ?? 'fake-passthrough-credential';
  }

  get capabilities(): ProviderCapabilities {
    return this.#capabilities;
  }

  /** Like a real passthrough adapter: present only in passthrough mode, the id its credential's token has. */
  get passthrough(): { readonly tokenId: string } | undefined {
    return this.#capabilities.mode === 'passthrough'
      ? { tokenId: passthroughTokenId(this.#passthroughCredential) }
      : undefined;
  }

  setCapabilities(capabilities: Partial<ProviderCapabilities>): void {
    this.#capabilities = { ...this.#capabilities, ...capabilities };
  }

  /**
   * The next `count` calls (of `operations`, default all) throw `error`. Rules queue up: the first rule that
   * matches a call is consumed. Pass a function to get a fresh error object per failure.
   */
  failNext(
    count: number,
    error: ProviderError | (() => ProviderError),
    options: { operations?: FakeOperation[] } = {},
  ): void {
    this.#failures.push({
      remaining: count,
      error,
      operations: options.operations ? new Set(options.operations) : undefined,
    });
  }

  /** Drop every pending failure rule. */
  clearFailures(): void {
    this.#failures = [];
  }

  /** Names of tokens neither revoked nor expired. */
  liveTokens(): string[] {
    return [...this.tokens.values()].filter((t) => this.#isLive(t)).map((t) => t.name);
  }

  /** Live token count per name (more than 1 only with duplicateNames: 'allow'). */
  liveTokensByName(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const t of this.tokens.values()) {
      if (this.#isLive(t)) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    }
    return counts;
  }

  /** Simulate an out-of-band revocation upstream (someone clicked "delete" in the vendor UI). */
  revokeUpstream(name: string): void {
    for (const t of this.tokens.values()) if (t.name === name) t.revoked = true;
  }

  /** Plain value of the live token with this name, for assertions that a Secret holds the right token. */
  valueOf(name: string): string | undefined {
    return this.#findLive(name)?.value.reveal();
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    await this.#enter({ operation: 'issue', name: request.name, serviceAccount: request.serviceAccount }, signal);
    if (this.#duplicateNames === 'conflict' && this.#findLive(request.name, request.serviceAccount)) {
      throw conflict(`fake: token "${request.name}" already exists`);
    }
    this.mints++;
    this.#seq++;
    const passthrough = this.passthrough;
    const id = passthrough?.tokenId ?? (this.#capabilities.lookupByName ? request.name : `fake-${this.#seq}`);
    const tokenId = this.tokens.has(id) && !passthrough ? `${id}#${this.#seq}` : id;
    const value = new SecretValue(
      passthrough ? this.#passthroughCredential : `fake_${this.#seq}_${randomBytes(12).toString('hex')}`,
    );
    const asked =
      this.#capabilities.expiry === 'never'
        ? undefined
        : (request.lifetimeSeconds ??
          (this.#capabilities.expiry === 'always' ? this.#defaultLifetimeSeconds : undefined));
    const lifetime =
      asked !== undefined && this.#maxLifetimeSeconds !== undefined ? Math.min(asked, this.#maxLifetimeSeconds) : asked;
    const nowMs = this.#now();
    const token: FakeToken = {
      id: tokenId,
      name: request.name,
      serviceAccount: request.serviceAccount,
      value,
      createdAt: new Date(nowMs),
      expiresAt: lifetime === undefined ? undefined : new Date(nowMs + lifetime * 1000),
      revoked: false,
      request,
    };
    this.tokens.set(tokenId, token);
    const issued: IssuedToken = { id: tokenId, name: request.name, value };
    if (token.expiresAt) issued.expiresAt = token.expiresAt;
    return issued;
  }

  async revoke(ref: TokenRef, signal?: AbortSignal): Promise<void> {
    const call: FakeCall = { operation: 'revoke', id: ref.id };
    if (ref.name !== undefined) call.name = ref.name;
    if (ref.serviceAccount !== undefined) call.serviceAccount = ref.serviceAccount;
    await this.#enter(call, signal);
    if (!this.#capabilities.revoke) throw unsupported(`fake (${this.type}): tokens cannot be revoked upstream`);
    this.revokes++;
    const token = this.tokens.get(ref.id);
    if (token) token.revoked = true; // unknown id: already gone, idempotent success
  }

  async lookup(ref: { name: string; serviceAccount?: string }, signal?: AbortSignal): Promise<TokenInfo | undefined> {
    const call: FakeCall = { operation: 'lookup', name: ref.name };
    if (ref.serviceAccount !== undefined) call.serviceAccount = ref.serviceAccount;
    await this.#enter(call, signal);
    this.lookups++;
    if (!this.#capabilities.lookupByName) return undefined;
    const token = this.#findLive(ref.name, ref.serviceAccount);
    return token ? this.#info(token) : undefined;
  }

  async list(serviceAccount: string | undefined, signal?: AbortSignal): Promise<TokenInfo[]> {
    const call: FakeCall = { operation: 'list' };
    if (serviceAccount !== undefined) call.serviceAccount = serviceAccount;
    await this.#enter(call, signal);
    if (!this.#capabilities.list) throw unsupported(`fake (${this.type}): tokens cannot be listed`);
    this.lists++;
    return [...this.tokens.values()]
      .filter((t) => !t.revoked && (serviceAccount === undefined || t.serviceAccount === serviceAccount))
      .map((t) => this.#info(t));
  }

  async check(signal?: AbortSignal): Promise<CheckResult | undefined> {
    await this.#enter({ operation: 'check' }, signal);
    this.checks++;
    return undefined;
  }

  #isLive(t: FakeToken): boolean {
    return !t.revoked && (t.expiresAt === undefined || t.expiresAt.getTime() > this.#now());
  }

  #findLive(name: string, serviceAccount?: string): FakeToken | undefined {
    for (const t of this.tokens.values()) {
      if (t.name === name && this.#isLive(t) && (serviceAccount === undefined || t.serviceAccount === serviceAccount)) {
        return t;
      }
    }
    return undefined;
  }

  #info(t: FakeToken): TokenInfo {
    const info: TokenInfo = { id: t.id, name: t.name, active: this.#isLive(t) };
    if (t.expiresAt) info.expiresAt = t.expiresAt;
    return info;
  }

  async #enter(call: FakeCall, signal: AbortSignal | undefined): Promise<void> {
    this.calls.push(call);
    signal?.throwIfAborted();
    if (this.#latencyMs > 0) {
      await sleep(this.#latencyMs, undefined, signal ? { signal } : {});
    }
    const index = this.#failures.findIndex((r) => r.operations === undefined || r.operations.has(call.operation));
    if (index === -1) return;
    const rule = this.#failures[index]!;
    rule.remaining--;
    if (rule.remaining <= 0) this.#failures.splice(index, 1);
    throw typeof rule.error === 'function' ? rule.error() : rule.error;
  }
}

export const createFakeProvider = (options: FakeProviderOptions = {}): FakeProvider => new FakeProvider(options);
