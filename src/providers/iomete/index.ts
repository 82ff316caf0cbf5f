import { iometeConfigSchema } from '../../api/v1alpha1/providers/iomete.ts';
import { realClock } from '../../clock.ts';
import { ProviderError, permanent } from '../errors.ts';
import { refuseUndocumented } from '../request-fields.ts';
import { SecretValue } from '../secret-value.ts';
import { HttpTransport } from '../transport/transport.ts';
import type {
  AcceptedRequestFields,
  CheckResult,
  CommonProviderConfig,
  IssuedToken,
  IssueRequest,
  ProviderCapabilities,
  ProviderClient,
  ProviderDeps,
  ProviderModule,
  TokenInfo,
  TokenRef,
} from '../types.ts';
import { IometeApi, type IometeToken, type IometeWire, requireServiceAccount } from './client.ts';

/**
 * IOMETE service-account tokens. Confirmed by the IOMETE docs: the admin and domain base paths, POST/GET
 * {base}/tokens, PATCH (status, maxRps) and DELETE {base}/tokens/{name} (tokens are addressed by name), a token's
 * name, expiry, status (suspend) and maxRps, and the 403 "same group" rule. NOT confirmed (isolated here, see
 * docs/providers.md): the auth header name, the JSON field names, the status values, GET {base}/tokens/{name}
 * (not documented: lookup searches the list).
 */
export const IOMETE_WIRE: IometeWire = {
  authHeaders: (credential) => ({ 'X-API-Token': credential }),
  fields: { name: 'name', token: 'token', expiresAt: 'expiresAt', maxRps: 'maxRps', status: 'status' },
  activeStatuses: ['ACTIVE', 'ENABLED'],
  suspendedStatus: 'SUSPENDED',
  getByName: false,
};

/** Service account whose token list `check()` reads: it only has to exist or not, never to hold tokens. */
export const HEALTHCHECK_SERVICE_ACCOUNT = 'tokensync-healthcheck';

/** IOMETE documents a token's name, expiry, status and maxRps: of a ServiceAccountToken only attributes.maxRps. */
export const IOMETE_ACCEPTS: AcceptedRequestFields = { readOnly: false, scopes: false, attributes: ['maxRps'] };

/** Name-addressed tokens with optional expiry: what iomete and reference share. */
export const iometeLikeCapabilities = (accepts: AcceptedRequestFields): ProviderCapabilities => ({
  mode: 'mint',
  revoke: true,
  lookupByName: true,
  list: true,
  expiry: 'optional',
  accepts,
});

export const IOMETE_CAPABILITIES = iometeLikeCapabilities(IOMETE_ACCEPTS);

/** Settings shared by iomete and reference (spec.iomete / spec.reference). */
export interface IometeLikeSettings {
  domain?: string | undefined;
  revocation: 'Delete' | 'Suspend';
  maxRps?: number | undefined;
}

export interface IometeLikeOptions {
  type: 'iomete' | 'reference';
  wire: IometeWire;
  /** The module's capabilities (its `accepts` decides which request fields are refused). */
  capabilities: ProviderCapabilities;
  /** What the vendor documents, for the message refusing other fields. */
  documented: string;
  /** Body fields beyond IOMETE's documented ones (the reference server only). */
  extraCreateFields?: (request: IssueRequest) => Record<string, unknown>;
  /** Reachability + authentication probe; costs the vendor nothing (reads only). */
  check: (api: IometeApi, signal?: AbortSignal) => Promise<void>;
}

function parseMaxRps(provider: string, raw: string | undefined, fallback: number | undefined): number | undefined {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw permanent(`${provider} issue: attributes.maxRps must be a positive whole number of requests per second`);
  }
  return value;
}

export class IometeLikeProvider implements ProviderClient {
  readonly type: 'iomete' | 'reference';
  readonly capabilities: ProviderCapabilities;
  readonly #api: IometeApi;
  readonly #transport: HttpTransport;
  readonly #now: () => number;
  readonly #options: IometeLikeOptions;
  readonly #settings: IometeLikeSettings;

  constructor(
    config: CommonProviderConfig,
    settings: IometeLikeSettings,
    deps: ProviderDeps,
    options: IometeLikeOptions,
  ) {
    this.type = options.type;
    this.capabilities = options.capabilities;
    if (!config.url) throw permanent(`${options.type}: spec.url is required`);
    this.#transport = HttpTransport.forConfig(options.type, { ...config, type: options.type }, deps);
    this.#api = new IometeApi({
      transport: this.#transport,
      wire: options.wire,
      credential: config.credential,
      domain: settings.domain,
    });
    this.#now = () => (deps.clock ?? realClock).now();
    this.#options = options;
    this.#settings = settings;
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    refuseUndocumented(this.type, this.capabilities.accepts, request, this.#options.documented);
    const sa = requireServiceAccount(this.type, 'issue', request.serviceAccount);
    const issuedAt = this.#now();
    const requestedExpiry =
      request.lifetimeSeconds === undefined ? undefined : new Date(issuedAt + request.lifetimeSeconds * 1000);
    const created = await this.#api.createToken(
      {
        serviceAccount: sa,
        name: request.name,
        expiresAt: requestedExpiry,
        maxRps: parseMaxRps(this.type, request.attributes['maxRps'], this.#settings.maxRps),
        ...(this.#options.extraCreateFields ? { extra: this.#options.extraCreateFields(request) } : {}),
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

  /** Delete, or with revocation: Suspend a PATCH to the suspended status; an unknown token is already gone. */
  async revoke(ref: TokenRef, signal?: AbortSignal): Promise<void> {
    const sa = requireServiceAccount(this.type, 'revoke', ref.serviceAccount);
    const name = ref.name ?? ref.id;
    if (this.#settings.revocation === 'Suspend') await this.#api.suspendToken(sa, name, signal);
    else await this.#api.deleteToken(sa, name, signal);
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

  async check(signal?: AbortSignal): Promise<CheckResult | undefined> {
    await this.#options.check(this.#api, signal);
    return undefined;
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

export const iometeProvider: ProviderModule<'iomete'> = {
  type: 'iomete',
  configSchema: iometeConfigSchema,
  templateVariables: [],
  capabilities: () => IOMETE_CAPABILITIES,
  create: (config, deps) =>
    new IometeLikeProvider(config, config.settings, deps, {
      type: 'iomete',
      wire: IOMETE_WIRE,
      capabilities: IOMETE_CAPABILITIES,
      documented: 'IOMETE documents a token name, expiry, status and attributes.maxRps',
      check: listProbe,
    }),
};
