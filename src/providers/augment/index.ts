import { augmentConfigSchema } from '../../api/v1alpha1/providers/augment.ts';
import { permanent, unsupported } from '../errors.ts';
import { passthroughTokenId } from '../passthrough.ts';
import { refuseUndocumented } from '../request-fields.ts';
import { SecretValue } from '../secret-value.ts';
import type {
  CheckResult,
  IssuedToken,
  IssueRequest,
  ModuleConfig,
  ProviderCapabilities,
  ProviderClient,
  ProviderModule,
  TokenInfo,
} from '../types.ts';
import { sessionTemplateData } from './passthrough.ts';

export const AUGMENT_CAPABILITIES: ProviderCapabilities = {
  mode: 'passthrough',
  revoke: false,
  lookupByName: false,
  list: false,
  expiry: 'never',
  // session.json documents scopes (["read","write"]); Augment has no read-only flag or attributes.
  accepts: { readOnly: false, scopes: true, attributes: [] },
};

export class AugmentProvider implements ProviderClient {
  readonly type = 'augment' as const;
  readonly capabilities = AUGMENT_CAPABILITIES;
  readonly passthrough: { readonly tokenId: string };
  readonly #credential: SecretValue;
  readonly #tenantURL: string;

  constructor(config: ModuleConfig<'augment'>) {
    this.#credential = config.credential;
    this.#tenantURL = config.settings.tenantURL;
    this.passthrough = { tokenId: passthroughTokenId(config.credential.reveal()) };
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    signal?.throwIfAborted();
    refuseUndocumented('augment', this.capabilities.accepts, request, 'Augment API tokens carry only session scopes');
    const value = this.#credential.reveal();
    if (value.trim().length === 0) throw permanent('augment issue: the referenced Secret key is empty');
    const issued: IssuedToken = {
      id: this.passthrough.tokenId,
      name: request.name,
      value: new SecretValue(value),
      templateData: sessionTemplateData(this.#tenantURL, request.scopes),
    };
    return issued;
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
  async check(signal?: AbortSignal): Promise<CheckResult | undefined> {
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
    return { message: 'credential present and tenantURL valid (Augment has no API to check against)' };
  }
}

export const augmentProvider: ProviderModule<'augment'> = {
  type: 'augment',
  configSchema: augmentConfigSchema,
  templateVariables: ['tenantURL', 'scopes'],
  capabilities: () => AUGMENT_CAPABILITIES,
  create: (config) => new AugmentProvider(config),
};
