import { malformed, permanent, unsupported } from '../errors.ts';
import { SecretValue } from '../secret-value.ts';
import { decodeJwtClaims, fingerprint, jwtExpiry } from '../token-utils.ts';
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
} from '../types.ts';
import { CUSTOMERIO_WIRE, CustomerioApi } from './client.ts';

/**
 * Customer.io service accounts: exchange-only. Each issue exchanges the sa_live_ credential for a short-lived
 * access token; nothing upstream can be listed, looked up or revoked (revoking the sa_live_ token itself is a
 * manual action in Customer.io and ends every session).
 */
export const CUSTOMERIO_CAPABILITIES: ProviderCapabilities = {
  mode: 'exchange',
  revoke: false,
  lookupByName: false,
  list: false,
  expiry: 'always',
};

export class CustomerioProvider implements ProviderClient {
  readonly type = 'customerio' as const;
  readonly capabilities = CUSTOMERIO_CAPABILITIES;
  readonly #api: CustomerioApi;
  readonly #transport: HttpTransport;
  readonly #now: () => number;

  constructor(config: ResolvedProviderConfig, deps: ProviderDeps) {
    if (!config.url) throw permanent('customerio: spec.url is required (the Customer.io API base URL of your region)');
    this.#transport = HttpTransport.forConfig('customerio', config, deps);
    this.#api = new CustomerioApi(this.#transport, config.credential);
    this.#now = deps.now ?? Date.now;
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const issuedAt = this.#now();
    const exchanged = await this.#api.exchange({ readOnly: request.readOnly, operation: 'issue' }, signal);
    if (request.readOnly && !exchanged.scopes?.includes(CUSTOMERIO_WIRE.readOnlyScope)) {
      // Never hand out a write-capable session when read-only was asked for. The unused token simply expires.
      throw permanent(
        `customerio issue: read-only was requested but the granted scope is "${exchanged.scopes?.join(' ') ?? '(none)'}"`,
      );
    }
    const expiresAt =
      exchanged.expiresInSeconds !== undefined
        ? new Date(issuedAt + exchanged.expiresInSeconds * 1000)
        : jwtExpiry(exchanged.accessToken);
    if (!expiresAt) throw malformed('customerio issue: the response has neither expires_in nor a JWT exp claim');
    const jti = decodeJwtClaims(exchanged.accessToken)?.['jti'];
    return {
      id: typeof jti === 'string' && jti.length > 0 ? jti : fingerprint(exchanged.accessToken),
      name: request.name,
      value: new SecretValue(exchanged.accessToken),
      expiresAt,
    };
  }

  async revoke(): Promise<void> {
    throw unsupported('customerio revoke: exchanged access tokens cannot be revoked; they expire on their own');
  }

  async lookup(): Promise<TokenInfo | undefined> {
    return undefined;
  }

  async list(): Promise<TokenInfo[]> {
    throw unsupported('customerio list: exchanged access tokens cannot be listed');
  }

  /**
   * Customer.io documents no endpoint that validates a service-account token without using it, so the check is a
   * real read-only exchange whose access token is dropped at once (it expires on its own).
   */
  async check(signal?: AbortSignal): Promise<void> {
    await this.#api.exchange({ readOnly: true, operation: 'check' }, signal);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

export const createCustomerioProvider: ProviderFactory = (config, deps) => new CustomerioProvider(config, deps);
