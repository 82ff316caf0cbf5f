import type { ProviderType } from '../../api/v1alpha1/provider.ts';
import { ProviderError, permanent } from '../errors.ts';
import { SecretValue } from '../secret-value.ts';
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
import { IometeApi, type IometeToken, type IometeWire, requireServiceAccount } from './client.ts';

/**
 * IOMETE service-account tokens. Confirmed by the IOMETE docs: the admin and domain base paths, POST/GET
 * {base}/tokens, DELETE {base}/tokens/{name} (tokens are addressed by name), maxRps, a token status (suspend),
 * and the 403 "same group" rule. NOT confirmed (isolated here, see docs/providers.md): the auth header name,
 * the JSON field names, the status values, GET {base}/tokens/{name} (not documented: lookup searches the list).
 */
export const IOMETE_WIRE: IometeWire = {
  authHeaders: (credential) => ({ 'X-API-Token': credential }),
  fields: {
    name: 'name',
    token: 'token',
    expiresAt: 'expiresAt',
    readOnly: 'readOnly',
    scopes: 'scopes',
    maxRps: 'maxRps',
    status: 'status',
    description: 'description',
  },
  activeStatuses: ['ACTIVE', 'ENABLED'],
  getByName: false,
};

/** Service account whose token list `check()` reads: it only has to exist or not, never to hold tokens. */
export const HEALTHCHECK_SERVICE_ACCOUNT = 'tokensync-healthcheck';

export const IOMETE_CAPABILITIES: ProviderCapabilities = {
  mode: 'mint',
  revoke: true,
  lookupByName: true,
  list: true,
  expiry: 'optional',
};

export interface IometeLikeOptions {
  type: ProviderType;
  wire: IometeWire;
  /** Reachability + authentication probe. */
  check: (api: IometeApi, signal?: AbortSignal) => Promise<void>;
}

/** The description IOMETE shows next to the token: who minted it and for which resource. */
export const tokenDescription = (owner: IssueRequest['owner']): string =>
  `tokensync ${owner.namespace}/${owner.name} uid=${owner.uid}`;

function parseMaxRps(provider: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw permanent(`${provider} issue: attributes.maxRps must be a positive number`);
  }
  return value;
}

export class IometeLikeProvider implements ProviderClient {
  readonly type: ProviderType;
  readonly capabilities = IOMETE_CAPABILITIES;
  readonly #api: IometeApi;
  readonly #transport: HttpTransport;
  readonly #now: () => number;
  readonly #check: IometeLikeOptions['check'];

  constructor(config: ResolvedProviderConfig, deps: ProviderDeps, options: IometeLikeOptions) {
    this.type = options.type;
    if (!config.url) throw permanent(`${options.type}: spec.url is required`);
    this.#transport = HttpTransport.forConfig(options.type, config, deps);
    this.#api = new IometeApi({
      transport: this.#transport,
      wire: options.wire,
      credential: config.credential,
      domain: config.iomete?.domain,
    });
    this.#now = deps.now ?? Date.now;
    this.#check = options.check;
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const sa = requireServiceAccount(this.type, 'issue', request.serviceAccount);
    const requestedExpiry =
      request.lifetimeSeconds === undefined ? undefined : new Date(this.#now() + request.lifetimeSeconds * 1000);
    const created = await this.#api.createToken(
      {
        serviceAccount: sa,
        name: request.name,
        expiresAt: requestedExpiry,
        readOnly: request.readOnly,
        scopes: request.scopes,
        maxRps: parseMaxRps(this.type, request.attributes['maxRps']),
        description: tokenDescription(request.owner),
      },
      signal,
    );
    const issued: IssuedToken = {
      id: created.name,
      name: created.name,
      value: new SecretValue(created.token!),
    };
    const expiresAt = created.expiresAt ?? requestedExpiry;
    if (expiresAt) issued.expiresAt = expiresAt;
    return issued;
  }

  async revoke(ref: TokenRef, signal?: AbortSignal): Promise<void> {
    const sa = requireServiceAccount(this.type, 'revoke', ref.serviceAccount);
    await this.#api.deleteToken(sa, ref.name ?? ref.id, signal);
  }

  async lookup(ref: { name: string; serviceAccount?: string }, signal?: AbortSignal): Promise<TokenInfo | undefined> {
    const sa = requireServiceAccount(this.type, 'lookup', ref.serviceAccount);
    try {
      const token = await this.#api.getToken(sa, ref.name, signal);
      return token ? this.#info(token) : undefined;
    } catch (error) {
      // Without GET-by-name the lookup lists the account's tokens: an unknown account means no such token.
      if (ProviderError.is(error) && error.code === 'NotFound') return undefined;
      throw error;
    }
  }

  async list(serviceAccount: string | undefined, signal?: AbortSignal): Promise<TokenInfo[]> {
    const sa = requireServiceAccount(this.type, 'list', serviceAccount);
    try {
      const tokens = await this.#api.listTokens(sa, signal);
      return tokens.map((t) => this.#info(t));
    } catch (error) {
      // An unknown service account holds no tokens.
      if (ProviderError.is(error) && error.code === 'NotFound') return [];
      throw error;
    }
  }

  async check(signal?: AbortSignal): Promise<void> {
    await this.#check(this.#api, signal);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  #info(token: IometeToken): TokenInfo {
    const info: TokenInfo = { id: token.name, name: token.name, active: this.#api.isActive(token, this.#now()) };
    if (token.expiresAt) info.expiresAt = token.expiresAt;
    return info;
  }
}

/**
 * Lists the tokens of a well-known service account: 2xx or 404 (no such account) proves reachability and a
 * valid credential. 401 fails; 403 fails too, except IOMETE's "same group" answer, which proves the credential
 * authenticated (group membership is per service account and surfaces on each token instead).
 */
export async function listProbe(api: IometeApi, signal?: AbortSignal): Promise<void> {
  try {
    await api.listTokens(HEALTHCHECK_SERVICE_ACCOUNT, signal, 'check');
  } catch (error) {
    if (!ProviderError.is(error)) throw error;
    if (error.code === 'NotFound') return;
    if (error.statusCode === 403 && /same group/i.test(error.message)) return;
    throw error;
  }
}

export const createIometeProvider: ProviderFactory = (config, deps) =>
  new IometeLikeProvider(config, deps, { type: 'iomete', wire: IOMETE_WIRE, check: listProbe });
