import { permanent, unsupported } from '../errors.ts';
import { SecretValue } from '../secret-value.ts';
import { fingerprint } from '../token-utils.ts';
import type {
  IssuedToken,
  IssueRequest,
  ProviderCapabilities,
  ProviderClient,
  ProviderFactory,
  ResolvedProviderConfig,
  TokenInfo,
} from '../types.ts';
import { sessionTemplateData } from './passthrough.ts';

export const AUGMENT_CAPABILITIES: ProviderCapabilities = {
  mode: 'passthrough',
  revoke: false,
  lookupByName: false,
  list: false,
  expiry: 'never',
};

export class AugmentProvider implements ProviderClient {
  readonly type = 'augment' as const;
  readonly capabilities = AUGMENT_CAPABILITIES;
  readonly #credential: SecretValue;
  readonly #tenantURL: string;

  constructor(config: ResolvedProviderConfig) {
    if (!config.augment?.tenantURL) throw permanent('augment: spec.augment.tenantURL is required');
    this.#credential = config.credential;
    this.#tenantURL = config.augment.tenantURL;
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    signal?.throwIfAborted();
    const value = this.#credential.reveal();
    if (value.trim().length === 0) throw permanent('augment issue: the referenced Secret key is empty');
    return {
      id: fingerprint(value),
      name: request.name,
      value: new SecretValue(value),
      templateData: sessionTemplateData(this.#tenantURL, request.scopes),
    };
  }

  async revoke(): Promise<void> {
    throw unsupported('augment revoke: revoke the API token manually in Augment (Settings > Service Accounts)');
  }

  async lookup(): Promise<TokenInfo | undefined> {
    return undefined;
  }

  async list(): Promise<TokenInfo[]> {
    throw unsupported('augment list: Augment has no token API');
  }

  /** No API to call: the credential must be present and the tenant URL https. */
  async check(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#credential.reveal().trim().length === 0)
      throw permanent('augment check: the referenced Secret key is empty');
    let url: URL;
    try {
      url = new URL(this.#tenantURL);
    } catch {
      throw permanent('augment check: augment.tenantURL is not a valid URL');
    }
    if (url.protocol !== 'https:') throw permanent('augment check: augment.tenantURL must be https://');
  }
}

export const createAugmentProvider: ProviderFactory = (config) => new AugmentProvider(config);
