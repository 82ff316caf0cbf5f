import type { Logger } from './logger.ts';
import { CoalescingWriter, loadState, type PersistedState, writeFileAtomic } from './persistence.ts';

export type TokenStatus = 'ACTIVE' | 'SUSPENDED';

export interface ServiceAccountRecord {
  id: string;
  name: string;
  /** Empty = any management key may manage its tokens (IOMETE's same-group rule only bites when groups are set). */
  groups: string[];
  createdAt: number;
}

/** Times are epoch milliseconds; the wire format (RFC 3339) is the handlers' business. */
export interface TokenRecord {
  serviceAccountId: string;
  name: string;
  /** SHA-256 of the value. The value itself is returned once at creation and never stored. */
  hash: string;
  createdAt: number;
  /** null = never expires. */
  expiresAt: number | null;
  readOnly: boolean;
  scopes: string[];
  maxRps: number | null;
  status: TokenStatus;
  description: string | null;
  lastUsedAt: number | null;
  /** The IOMETE domain named in the path when the token was created through the domain-level base, else null. */
  domain: string | null;
}

export type NewToken = Omit<TokenRecord, 'lastUsedAt' | 'status'>;

interface AccountEntry {
  record: ServiceAccountRecord;
  tokens: Map<string, TokenRecord>;
}

export function isExpired(token: TokenRecord, now: number): boolean {
  return token.expiresAt !== null && token.expiresAt <= now;
}

/**
 * All server state, in memory, optionally mirrored to a data file. Revoking a token deletes its record: the
 * server has no use for revoked tokens (introspection of a revoked value is simply "unknown" → inactive), and
 * dropping them keeps the data file bounded however long the operator rotates.
 *
 * Methods are synchronous and HTTP-agnostic; callers await `persist()` after a change so they only acknowledge
 * what is durable.
 */
export class Store {
  readonly #accounts = new Map<string, AccountEntry>();
  /** hash → token, for introspection. */
  readonly #byHash = new Map<string, TokenRecord>();
  readonly #writer: CoalescingWriter | undefined;

  private constructor(dataFile: string | undefined, logger: Logger) {
    this.#writer = dataFile
      ? new CoalescingWriter(async () => {
          try {
            await writeFileAtomic(dataFile, JSON.stringify(this.#snapshot()));
          } catch (error) {
            logger.error({ err: error, dataFile }, 'credentials-api: writing the data file failed');
            throw error;
          }
        })
      : undefined;
  }

  static async open(options: { dataFile?: string | undefined; logger: Logger }): Promise<Store> {
    const store = new Store(options.dataFile, options.logger);
    if (options.dataFile) {
      const state = await loadState(options.dataFile);
      if (state) store.#restore(state);
    }
    return store;
  }

  persist(): Promise<void> {
    return this.#writer ? this.#writer.request() : Promise.resolve();
  }

  async flush(): Promise<void> {
    await this.#writer?.idle();
  }

  getServiceAccount(id: string): ServiceAccountRecord | undefined {
    return this.#accounts.get(id)?.record;
  }

  listServiceAccounts(): ServiceAccountRecord[] {
    return [...this.#accounts.values()].map((entry) => entry.record);
  }

  /** false when the id is taken. */
  createServiceAccount(record: ServiceAccountRecord): boolean {
    if (this.#accounts.has(record.id)) return false;
    this.#accounts.set(record.id, { record, tokens: new Map() });
    return true;
  }

  /** The number of tokens revoked with it, or undefined when there was no such account. */
  deleteServiceAccount(id: string): number | undefined {
    const entry = this.#accounts.get(id);
    if (!entry) return undefined;
    for (const token of entry.tokens.values()) this.#byHash.delete(token.hash);
    this.#accounts.delete(id);
    return entry.tokens.size;
  }

  /** Unrevoked tokens of an account (expired ones included), oldest first. */
  listTokens(serviceAccountId: string): TokenRecord[] {
    return [...(this.#accounts.get(serviceAccountId)?.tokens.values() ?? [])];
  }

  getToken(serviceAccountId: string, name: string): TokenRecord | undefined {
    return this.#accounts.get(serviceAccountId)?.tokens.get(name);
  }

  /**
   * 'conflict' when a live (unexpired) token has the name. An expired token of that name is replaced: names are
   * deterministic per rotation in the controller, and an expired leftover must not block the next mint.
   */
  createToken(token: NewToken, now: number): TokenRecord | 'conflict' | 'no_account' {
    const entry = this.#accounts.get(token.serviceAccountId);
    if (!entry) return 'no_account';
    const existing = entry.tokens.get(token.name);
    if (existing) {
      if (!isExpired(existing, now)) return 'conflict';
      entry.tokens.delete(token.name);
      this.#byHash.delete(existing.hash);
    }
    const record: TokenRecord = { ...token, status: 'ACTIVE', lastUsedAt: null };
    entry.tokens.set(record.name, record);
    this.#byHash.set(record.hash, record);
    return record;
  }

  updateToken(
    serviceAccountId: string,
    name: string,
    patch: { status?: TokenStatus | undefined; maxRps?: number | null | undefined },
  ): TokenRecord | undefined {
    const token = this.getToken(serviceAccountId, name);
    if (!token) return undefined;
    if (patch.status !== undefined) token.status = patch.status;
    if (patch.maxRps !== undefined) token.maxRps = patch.maxRps;
    return token;
  }

  deleteToken(serviceAccountId: string, name: string): boolean {
    const entry = this.#accounts.get(serviceAccountId);
    const token = entry?.tokens.get(name);
    if (!entry || !token) return false;
    entry.tokens.delete(name);
    this.#byHash.delete(token.hash);
    return true;
  }

  findByHash(hash: string): TokenRecord | undefined {
    return this.#byHash.get(hash);
  }

  /** Every unrevoked, unexpired token (suspended ones included: they still exist upstream and can be resumed). */
  liveTokens(now: number): TokenRecord[] {
    const live: TokenRecord[] = [];
    for (const entry of this.#accounts.values()) {
      for (const token of entry.tokens.values()) if (!isExpired(token, now)) live.push(token);
    }
    return live;
  }

  #snapshot(): PersistedState {
    const serviceAccounts: ServiceAccountRecord[] = [];
    const tokens: TokenRecord[] = [];
    for (const entry of this.#accounts.values()) {
      serviceAccounts.push({ ...entry.record });
      for (const token of entry.tokens.values()) tokens.push({ ...token });
    }
    return { version: 1, serviceAccounts, tokens };
  }

  #restore(state: PersistedState): void {
    for (const account of state.serviceAccounts) this.#accounts.set(account.id, { record: account, tokens: new Map() });
    for (const token of state.tokens) {
      const entry = this.#accounts.get(token.serviceAccountId);
      if (!entry) continue; // a token without its account cannot be reached through the API
      entry.tokens.set(token.name, token);
      this.#byHash.set(token.hash, token);
    }
  }
}
