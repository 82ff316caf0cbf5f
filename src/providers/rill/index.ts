import { type RillConfig, rillConfigSchema } from '../../api/v1alpha1/providers/rill.ts';
import { realClock } from '../../clock.ts';
import { malformed, permanent, transient, unsupported } from '../errors.ts';
import { refuseUndocumented } from '../request-fields.ts';
import { SecretValue } from '../secret-value.ts';
import { decodeJwtClaims, fingerprint, jwtExpiry, parseExpiry } from '../token-utils.ts';
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
  TokenRef,
} from '../types.ts';
import { prefixMatches, RILL_WIRE, RillApi, type ServiceTokenEntry } from './client.ts';

/**
 * Rill. serviceToken mode: long-lived rill_svc_ tokens of a service (request.serviceAccount = service name),
 * never expiring, without names upstream (no lookup by name). The id of a new token is confirmed with the
 * service's token list (new id whose listed prefix matches the value), never derived from the value; revoke
 * confirms with the list that the token is gone. ephemeral mode: short-lived JWTs for a project, mint-only, with
 * the runtime host and instance id the workload needs offered to Secret templates.
 */

export const RILL_SERVICE_TOKEN_CAPABILITIES: ProviderCapabilities = {
  mode: 'mint',
  revoke: true,
  lookupByName: false,
  list: true,
  expiry: 'never',
  // Rill's token issue call takes no parameters: roles and attributes belong to the service (rill service create).
  accepts: { readOnly: false, scopes: false, attributes: [] },
};

export const RILL_EPHEMERAL_CAPABILITIES: ProviderCapabilities = {
  mode: 'mint',
  revoke: false,
  lookupByName: false,
  list: false,
  expiry: 'always',
  // Documented: arbitrary user attributes for security policies, or just the user's email.
  accepts: { readOnly: false, scopes: false, attributes: 'any' },
};

const capabilitiesOf = (settings: RillConfig) =>
  settings.mode === 'ephemeral' ? RILL_EPHEMERAL_CAPABILITIES : RILL_SERVICE_TOKEN_CAPABILITIES;

export class RillProvider implements ProviderClient {
  readonly type = 'rill' as const;
  readonly capabilities: ProviderCapabilities;
  readonly #api: RillApi;
  readonly #transport: HttpTransport;
  readonly #org: string;
  readonly #mode: RillConfig['mode'];
  readonly #project: string | undefined;
  readonly #now: () => number;

  constructor(config: ModuleConfig<'rill'>, deps: ProviderDeps) {
    const { settings } = config;
    this.#org = settings.org;
    this.#mode = settings.mode;
    this.#project = settings.project;
    if (this.#mode === 'ephemeral' && !this.#project)
      throw permanent('rill: rill.project is required in ephemeral mode');
    this.capabilities = capabilitiesOf(settings);
    this.#transport = HttpTransport.forConfig('rill', { ...config, url: config.url ?? RILL_WIRE.defaultUrl }, deps);
    this.#api = new RillApi(this.#transport, config.credential);
    this.#now = () => (deps.clock ?? realClock).now();
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    return this.#mode === 'ephemeral' ? this.#issueEphemeral(request, signal) : this.#issueService(request, signal);
  }

  async #issueService(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    refuseUndocumented('rill', this.capabilities.accepts, request, 'a service token takes no parameters');
    const service = request.serviceAccount;
    if (!service) throw permanent('rill issue: spec.serviceAccount (the Rill service name) is required');
    // The ids listed before the mint tell the new token apart from the service's others.
    const before = new Set((await this.#api.listServiceTokens(this.#org, service, signal)).map((t) => t.id));
    const value = await this.#api.issueServiceToken(this.#org, service, signal);
    const untracked = `it is live in Rill and tokensync cannot revoke it: revoke it there (rill service token list --service ${service})`;
    let after: ServiceTokenEntry[];
    try {
      after = await this.#api.listServiceTokens(this.#org, service, signal);
    } catch (error) {
      throw transient(
        `rill issue: a token was issued for service "${service}" but its id could not be confirmed; ${untracked}`,
        {
          cause: error,
        },
      );
    }
    const id = confirmNewTokenId(value, before, after);
    if (!id) {
      throw malformed(
        `rill issue: the token issued for service "${service}" matches no single new entry of the service's token list (by id and prefix); ${untracked}`,
      );
    }
    const issued: IssuedToken = { id, name: request.name, value: new SecretValue(value) };
    return issued;
  }

  async #issueEphemeral(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    refuseUndocumented('rill', this.capabilities.accepts, request, 'ephemeral credentials take attributes only');
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
    const templateData: Record<string, string> = {};
    if (creds.runtimeHost) templateData['runtimeHost'] = creds.runtimeHost;
    if (creds.instanceId) templateData['instanceId'] = creds.instanceId;
    if (Object.keys(templateData).length > 0) issued.templateData = templateData;
    return issued;
  }

  /**
   * Lists the service first: a token it no longer shows is gone and gets no second DELETE. After the DELETE the
   * list must no longer show it, whatever the DELETE answered (a 404 for a token still listed is not success).
   */
  async revoke(ref: TokenRef, signal?: AbortSignal): Promise<void> {
    if (this.#mode === 'ephemeral') {
      throw unsupported('rill revoke: ephemeral credentials cannot be revoked; they expire on their own');
    }
    const service = ref.serviceAccount;
    if (!service) throw permanent(`rill revoke: the service name is required to confirm that token ${ref.id} is gone`);
    const listed = await this.#api.listServiceTokens(this.#org, service, signal);
    if (!listed.some((t) => t.id === ref.id)) return;
    await this.#api.revokeServiceToken(ref.id, signal);
    const remaining = await this.#api.listServiceTokens(this.#org, service, signal);
    if (remaining.some((t) => t.id === ref.id)) {
      throw transient(`rill revoke: token ${ref.id} is still listed for service "${service}" after DELETE`);
    }
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

  async check(signal?: AbortSignal): Promise<CheckResult | undefined> {
    const path =
      this.#mode === 'ephemeral' ? RILL_WIRE.project(this.#org, this.#project!) : RILL_WIRE.organization(this.#org);
    await this.#api.get(path, signal);
    return undefined;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

/**
 * The id of a freshly issued token: the one entry listed after the mint and not before, whose prefix (when Rill
 * lists one) is the start of the value. undefined when no single entry qualifies.
 */
export function confirmNewTokenId(
  value: string,
  before: ReadonlySet<string>,
  after: readonly ServiceTokenEntry[],
): string | undefined {
  const fresh = after.filter((t) => !before.has(t.id));
  const consistent = fresh.filter((t) => t.prefix === undefined || t.prefix === '' || prefixMatches(value, t.prefix));
  if (consistent.length === 1) return consistent[0]!.id;
  // Several new tokens (another mint on the same service at the same time): only a matching prefix decides.
  const byPrefix = consistent.filter((t) => prefixMatches(value, t.prefix));
  return byPrefix.length === 1 ? byPrefix[0]!.id : undefined;
}

export const rillProvider: ProviderModule<'rill'> = {
  type: 'rill',
  configSchema: rillConfigSchema,
  templateVariables: ['runtimeHost', 'instanceId'],
  capabilities: capabilitiesOf,
  create: (config, deps) => new RillProvider(config, deps),
};
