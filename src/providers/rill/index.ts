import { malformed, permanent, unsupported } from '../errors.ts';
import { SecretValue } from '../secret-value.ts';
import { decodeJwtClaims, fingerprint, jwtExpiry, parseExpiry } from '../token-utils.ts';
import { HttpTransport } from '../transport/transport.ts';
import type {
  IssuedToken,
  IssueRequest,
  ProviderCapabilities,
  ProviderClient,
  ProviderDeps,
  ProviderFactory,
  ResolvedProviderConfig,
  TokenInfo,
  TokenRef,
} from '../types.ts';
import { decodeRillTokenId, RILL_WIRE, RillApi } from './client.ts';

/**
 * Rill. serviceToken mode: long-lived rill_svc_ tokens of a service (request.serviceAccount = service name),
 * revocable by id (decoded from the token value), never expiring, without names upstream (so no lookup by name:
 * crash recovery lists the service's tokens and revokes ids no Secret holds). ephemeral mode: short-lived JWTs
 * for a project, mint-only.
 */

export const RILL_SERVICE_TOKEN_CAPABILITIES: ProviderCapabilities = {
  mode: 'mint',
  revoke: true,
  lookupByName: false,
  list: true,
  expiry: 'never',
};

export const RILL_EPHEMERAL_CAPABILITIES: ProviderCapabilities = {
  mode: 'mint',
  revoke: false,
  lookupByName: false,
  list: false,
  expiry: 'always',
};

export class RillProvider implements ProviderClient {
  readonly type = 'rill' as const;
  readonly capabilities: ProviderCapabilities;
  readonly #api: RillApi;
  readonly #transport: HttpTransport;
  readonly #org: string;
  readonly #mode: 'serviceToken' | 'ephemeral';
  readonly #project: string | undefined;
  readonly #now: () => number;

  constructor(config: ResolvedProviderConfig, deps: ProviderDeps) {
    if (!config.url) throw permanent('rill: spec.url is required');
    if (!config.rill) throw permanent('rill: spec.rill is required');
    this.#org = config.rill.org;
    this.#mode = config.rill.mode;
    this.#project = config.rill.project;
    if (this.#mode === 'ephemeral' && !this.#project)
      throw permanent('rill: rill.project is required in ephemeral mode');
    this.capabilities = this.#mode === 'ephemeral' ? RILL_EPHEMERAL_CAPABILITIES : RILL_SERVICE_TOKEN_CAPABILITIES;
    this.#transport = HttpTransport.forConfig('rill', config, deps);
    this.#api = new RillApi(this.#transport, config.credential);
    this.#now = deps.now ?? Date.now;
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    return this.#mode === 'ephemeral' ? this.#issueEphemeral(request, signal) : this.#issueService(request, signal);
  }

  async #issueService(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const service = request.serviceAccount;
    if (!service) throw permanent('rill issue: spec.serviceAccount (the Rill service name) is required');
    const token = await this.#api.issueServiceToken(this.#org, service, signal);
    const id = decodeRillTokenId(token);
    if (!id) {
      // The token exists upstream but cannot be revoked by id: say so, so an admin can delete it in Rill.
      throw malformed(
        `rill issue: the issued token for service "${service}" is not a rill_svc_ token whose id can be decoded; it could not be tracked, delete it in Rill (rill service token list)`,
      );
    }
    return { id, name: request.name, value: new SecretValue(token) };
  }

  async #issueEphemeral(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const body: Record<string, unknown> = {};
    const { email, ...others } = request.attributes;
    if (Object.keys(others).length > 0) body['attributes'] = request.attributes;
    else if (email !== undefined) body['user_email'] = email;
    else body['attributes'] = {};
    if (request.lifetimeSeconds !== undefined) body['ttl_seconds'] = request.lifetimeSeconds;
    const issuedAt = this.#now();
    const creds = await this.#api.ephemeralCredentials(this.#org, this.#project!, body, signal);
    const expiresAt =
      parseExpiry(creds.expiresOn) ??
      (creds.ttlSeconds !== undefined ? new Date(issuedAt + creds.ttlSeconds * 1000) : undefined) ??
      jwtExpiry(creds.token) ??
      (request.lifetimeSeconds !== undefined ? new Date(issuedAt + request.lifetimeSeconds * 1000) : undefined);
    const jti = decodeJwtClaims(creds.token)?.['jti'];
    const issued: IssuedToken = {
      id: typeof jti === 'string' && jti.length > 0 ? jti : fingerprint(creds.token),
      name: request.name,
      value: new SecretValue(creds.token),
    };
    if (expiresAt) issued.expiresAt = expiresAt;
    return issued;
  }

  async revoke(ref: TokenRef, signal?: AbortSignal): Promise<void> {
    if (this.#mode === 'ephemeral') {
      throw unsupported('rill revoke: ephemeral credentials cannot be revoked; they expire on their own');
    }
    await this.#api.revokeServiceToken(ref.id, signal);
  }

  /** Rill tokens have no name upstream: nothing to find by name. */
  async lookup(_ref: { name: string; serviceAccount?: string }): Promise<TokenInfo | undefined> {
    return undefined;
  }

  async list(serviceAccount: string | undefined, signal?: AbortSignal): Promise<TokenInfo[]> {
    if (this.#mode === 'ephemeral') throw unsupported('rill list: ephemeral credentials cannot be listed');
    if (!serviceAccount) throw permanent('rill list: a service name is required');
    const tokens = await this.#api.listServiceTokens(this.#org, serviceAccount, signal);
    const now = this.#now();
    return tokens.map((t) => {
      const expiresAt = parseExpiry(t.expiresOn);
      const info: TokenInfo = { id: t.id, name: t.id, active: expiresAt === undefined || expiresAt.getTime() > now };
      if (expiresAt) info.expiresAt = expiresAt;
      return info;
    });
  }

  async check(signal?: AbortSignal): Promise<void> {
    const path =
      this.#mode === 'ephemeral' ? RILL_WIRE.project(this.#org, this.#project!) : RILL_WIRE.organization(this.#org);
    await this.#api.get(path, signal);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

export const createRillProvider: ProviderFactory = (config, deps) => new RillProvider(config, deps);
