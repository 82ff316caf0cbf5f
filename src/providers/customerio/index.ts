import {
  CUSTOMERIO_API_HOSTS,
  type CustomerioConfig,
  customerioConfigSchema,
} from '../../api/v1alpha1/providers/customerio.ts';
import { realClock } from '../../clock.ts';
import { malformed, ProviderError, permanent, unsupported } from '../errors.ts';
import { refuseUndocumented } from '../request-fields.ts';
import { SecretValue } from '../secret-value.ts';
import { decodeJwtClaims, fingerprint, jwtExpiry } from '../token-utils.ts';
import { HttpTransport } from '../transport/transport.ts';
import type {
  CheckResult,
  IssuedToken,
  IssueRequest,
  ModuleConfig,
  ProviderCapabilities,
  ProviderClient,
  ProviderDeps,
  ProviderModule,
  TokenInfo,
} from '../types.ts';
import { CUSTOMERIO_WIRE, CustomerioApi } from './client.ts';

/**
 * Customer.io service accounts: exchange-only. Each issue exchanges the sa_live_ credential for a short-lived
 * access token; nothing upstream can be listed, looked up or revoked (revoking the sa_live_ token itself is a
 * manual action in Customer.io and ends every session). The region selects the API host.
 */
export const CUSTOMERIO_CAPABILITIES: ProviderCapabilities = {
  mode: 'exchange',
  revoke: false,
  lookupByName: false,
  list: false,
  expiry: 'always',
  // Documented: read-only tokens and read-only sessions. Nothing else is set per session.
  accepts: { readOnly: true, scopes: false, attributes: [] },
};

/** Customer.io: "Save the token value starting with sa_live_". No whitespace, nothing after a line break. */
const SERVICE_ACCOUNT_TOKEN = /^sa_live_\S{8,}$/;

/** The API base a region (or spec.url) selects, without a trailing slash. */
export function customerioApiUrl(settings: CustomerioConfig, url: string | undefined): string {
  return (url ?? CUSTOMERIO_API_HOSTS[settings.region]).replace(/\/+$/, '');
}

/** The outcome of the last exchange that says something about the credential (not a 429, not a 5xx). */
interface ExchangeOutcome {
  at: number;
  rejection: ProviderError | undefined;
}

export class CustomerioProvider implements ProviderClient {
  readonly type = 'customerio' as const;
  readonly capabilities = CUSTOMERIO_CAPABILITIES;
  readonly #api: CustomerioApi;
  readonly #transport: HttpTransport;
  readonly #now: () => number;
  readonly #credential: SecretValue;
  readonly #templateData: Record<string, string>;
  #last: ExchangeOutcome | undefined;

  constructor(config: ModuleConfig<'customerio'>, deps: ProviderDeps) {
    const apiURL = customerioApiUrl(config.settings, config.url);
    this.#transport = HttpTransport.forConfig('customerio', { ...config, url: apiURL }, deps);
    this.#api = new CustomerioApi(this.#transport, config.credential);
    this.#now = () => (deps.clock ?? realClock).now();
    this.#credential = config.credential;
    this.#templateData = { region: config.settings.region, apiURL };
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    refuseUndocumented('customerio', this.capabilities.accepts, request, 'Customer.io documents read-only sessions');
    const issuedAt = this.#now();
    let exchanged: Awaited<ReturnType<CustomerioApi['exchange']>>;
    try {
      exchanged = await this.#api.exchange({ readOnly: request.readOnly, operation: 'issue' }, signal);
    } catch (error) {
      // A refusal is news about the credential, for check(); a 429 or an outage is not.
      if (ProviderError.is(error) && error.code === 'Permanent') this.#last = { at: issuedAt, rejection: error };
      throw error;
    }
    this.#last = { at: issuedAt, rejection: undefined };
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
    const issued: IssuedToken = {
      id: typeof jti === 'string' && jti.length > 0 ? jti : fingerprint(exchanged.accessToken),
      name: request.name,
      value: new SecretValue(exchanged.accessToken),
      expiresAt,
      templateData: { ...this.#templateData },
    };
    return issued;
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
   * Costs Customer.io nothing: Customer.io documents no call that validates a service-account token without
   * exchanging it (which opens a session), so the check is the credential's documented shape plus the outcome of
   * the last exchange an issue made. A refused exchange stays visible here until the credential changes (which
   * builds a new client) or an exchange succeeds; rate limiting and outages are not held against the credential.
   */
  async check(signal?: AbortSignal): Promise<CheckResult | undefined> {
    signal?.throwIfAborted();
    if (!SERVICE_ACCOUNT_TOKEN.test(this.#credential.reveal())) {
      throw permanent(
        'customerio check: the management credential is not a Customer.io service-account token (sa_live_ followed by the token, no spaces or line breaks)',
      );
    }
    if (this.#last?.rejection) throw this.#last.rejection;
    return {
      message: this.#last
        ? `credential has the sa_live_ shape and its last exchange succeeded at ${new Date(this.#last.at).toISOString()}`
        : 'credential has the sa_live_ shape; not exchanged yet (checked without calling Customer.io)',
    };
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

export const customerioProvider: ProviderModule<'customerio'> = {
  type: 'customerio',
  configSchema: customerioConfigSchema,
  templateVariables: ['region', 'apiURL'],
  capabilities: () => CUSTOMERIO_CAPABILITIES,
  create: (config, deps) => new CustomerioProvider(config, deps),
};
