import { z } from 'zod';
import {
  type HttpConfig,
  type HttpCredential,
  type HttpEndpoint,
  httpConfigSchema,
} from '../../api/v1alpha1/providers/http.ts';
import { realClock } from '../../clock.ts';
import { conflict, malformed, ProviderError, permanent, unsupported } from '../errors.ts';
import { refuseUndocumented } from '../request-fields.ts';
import { SecretValue } from '../secret-value.ts';
import { parseExpiry } from '../token-utils.ts';
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
import { parsePointer, resolvePointer } from './json-pointer.ts';
import { renderJsonTemplate, TemplateError, type TemplateValues, templateVariables } from './template.ts';

/**
 * Generic REST credentials API (type: http), driven entirely by spec.http. The management credential is sent as
 * `Authorization: Bearer <credential>` unless spec.http.credential says otherwise (another header, another prefix
 * or none, or HTTP Basic). Paths take {serviceAccount}, {tokenName}, {tokenId} (URL-encoded); bodies are JSON
 * templates (see template.ts). The issue response is read through RFC 6901 pointers.
 */

/** Headers the transport sets itself or that would change how the request is framed: never the credential's. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'accept',
]);

/** The header(s) carrying the credential, as spec.http.credential describes (validated when the client is built). */
export function credentialHeaders(credential: string, options: HttpCredential | undefined): Record<string, string> {
  if (options?.basic) {
    const pair = options.basic.username === undefined ? credential : `${options.basic.username}:${credential}`;
    return { authorization: `Basic ${Buffer.from(pair, 'utf8').toString('base64')}` };
  }
  const header = (options?.header ?? 'Authorization').toLowerCase();
  const prefix = options?.prefix ?? (header === 'authorization' ? 'Bearer ' : '');
  return { [header]: `${prefix}${credential}` };
}

function validateCredentialOptions(options: HttpCredential | undefined, credential: string): void {
  if (options?.basic && (options.header !== undefined || options.prefix !== undefined)) {
    throw permanent('http: spec.http.credential.basic cannot be combined with header or prefix');
  }
  if (options?.header && RESERVED_HEADERS.has(options.header.toLowerCase())) {
    throw permanent(`http: spec.http.credential.header "${options.header}" is reserved; name the header the API reads`);
  }
  if (/[\r\n\0]/.test(credential)) {
    throw permanent('http: the management credential contains a line break; it cannot be sent in a header');
  }
  if (options?.basic && options.basic.username === undefined && !credential.includes(':')) {
    throw permanent(
      'http: spec.http.credential.basic has no username, so the credential must hold "username:password"',
    );
  }
}

const PATH_PLACEHOLDER = /\{(serviceAccount|tokenName|tokenId)\}|\{([^}]*)\}/g;
const anyJson = z.unknown();

interface PathValues {
  serviceAccount?: string | undefined;
  tokenName?: string | undefined;
  tokenId?: string | undefined;
}

export function renderPath(path: string, values: PathValues): string {
  const rendered = path.replace(PATH_PLACEHOLDER, (_all, known: string | undefined, unknown: string | undefined) => {
    if (known === undefined) throw new TemplateError(`unknown path placeholder {${unknown}}`);
    const value = values[known as keyof PathValues];
    if (value === undefined || value === '') throw new TemplateError(`path placeholder {${known}} has no value here`);
    return encodeURIComponent(value);
  });
  return rendered.startsWith('/') ? rendered : `/${rendered}`;
}

function validatePath(path: string): void {
  for (const match of path.matchAll(PATH_PLACEHOLDER)) {
    if (match[1] === undefined) throw permanent(`http: unknown path placeholder {${match[2]}} in "${path}"`);
  }
}

/** What the configured calls can do; the issue body decides which request fields reach the API. */
export function httpCapabilities(settings: HttpConfig): ProviderCapabilities {
  const used = settings.issue.body === undefined ? new Set<string>() : templateVariables(settings.issue.body);
  return {
    mode: 'mint',
    revoke: settings.revoke !== undefined,
    lookupByName: settings.lookup !== undefined,
    list: false,
    expiry: settings.expiresAtPointer !== undefined || used.has('lifetimeSeconds') ? 'optional' : 'never',
    // A readOnly or scopes the issue body does not send would be silently dropped: refused instead.
    accepts: { readOnly: used.has('readOnly'), scopes: used.has('scopes'), attributes: [] },
  };
}

export class GenericHttpProvider implements ProviderClient {
  readonly type = 'http' as const;
  readonly capabilities: ProviderCapabilities;
  readonly #config: HttpConfig;
  readonly #transport: HttpTransport;
  readonly #headers: Record<string, string>;
  readonly #now: () => number;
  readonly #issueUsesLifetime: boolean;

  constructor(config: ModuleConfig<'http'>, deps: ProviderDeps) {
    if (!config.url) throw permanent('http: spec.url is required');
    const settings = config.settings;
    this.#config = settings;
    validateCredentialOptions(settings.credential, config.credential.reveal());
    // Validate the whole configuration up front: a bad template is a Ready=False provider, not a failed issue.
    const endpoints: [string, HttpEndpoint | undefined][] = [
      ['issue', settings.issue],
      ['revoke', settings.revoke],
      ['lookup', settings.lookup],
    ];
    for (const [label, endpoint] of endpoints) {
      if (!endpoint) continue;
      validatePath(endpoint.path);
      if (endpoint.body !== undefined) {
        try {
          renderJsonTemplate(endpoint.body, {
            serviceAccount: 'sa',
            tokenName: 'name',
            lifetimeSeconds: 1,
            readOnly: false,
            scopes: [],
          });
        } catch (error) {
          throw permanent(`http: spec.http.${label}.body: ${error instanceof Error ? error.message : 'invalid'}`);
        }
      }
    }
    for (const [label, pointer] of [
      ['valuePointer', settings.valuePointer],
      ['idPointer', settings.idPointer],
      ['expiresAtPointer', settings.expiresAtPointer],
    ] as const) {
      if (pointer === undefined) continue;
      try {
        parsePointer(pointer);
      } catch {
        throw permanent(`http: spec.http.${label} is not a valid JSON pointer`);
      }
    }
    this.#issueUsesLifetime =
      settings.issue.body !== undefined && templateVariables(settings.issue.body).has('lifetimeSeconds');
    this.capabilities = httpCapabilities(settings);
    this.#transport = HttpTransport.forConfig('http', config, deps);
    this.#headers = credentialHeaders(config.credential.reveal(), settings.credential);
    this.#now = () => (deps.clock ?? realClock).now();
  }

  async #call(
    operation: string,
    endpoint: HttpEndpoint,
    paths: PathValues,
    values: TemplateValues,
    signal: AbortSignal | undefined,
    parse: boolean,
  ): Promise<unknown> {
    let path: string;
    let json: unknown;
    try {
      path = renderPath(endpoint.path, paths);
      json = endpoint.body === undefined ? undefined : renderJsonTemplate(endpoint.body, values);
    } catch (error) {
      if (error instanceof TemplateError) throw permanent(`http ${operation}: ${error.message}`);
      throw error;
    }
    const { data } = await this.#transport.call({
      operation,
      method: endpoint.method,
      path,
      headers: this.#headers,
      json,
      ...(parse ? { schema: anyJson } : {}),
      signal,
    });
    return data;
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    refuseUndocumented('http', this.capabilities.accepts, request, 'the issue body template sends only what it names');
    const issuedAt = this.#now();
    let document: unknown;
    try {
      document = await this.#call(
        'issue',
        this.#config.issue,
        { serviceAccount: request.serviceAccount, tokenName: request.name },
        templateValues(request),
        signal,
        true,
      );
    } catch (error) {
      if (ProviderError.is(error) && error.statusCode === 409) {
        throw conflict(`http issue: token "${request.name}" already exists (HTTP 409)`);
      }
      throw error;
    }
    const value = resolvePointer(document, this.#config.valuePointer);
    // An empty string is an answer, not a malformed one: the token exists upstream (it has an id), and the
    // controller's value check refuses it and revokes it by id. Treating it as malformed would leave the token to
    // recovery by name and retry the mint as if the failure were transient.
    if (typeof value !== 'string') {
      throw malformed(`http issue: no token string at valuePointer "${this.#config.valuePointer}"`);
    }
    const rawId = resolvePointer(document, this.#config.idPointer);
    if ((typeof rawId !== 'string' || rawId.length === 0) && typeof rawId !== 'number') {
      throw malformed(
        `http issue: no id at idPointer "${this.#config.idPointer}"; a token named "${request.name}" may exist upstream untracked`,
      );
    }
    const issued: IssuedToken = { id: String(rawId), name: request.name, value: new SecretValue(value) };
    let expiresAt: Date | undefined;
    if (this.#config.expiresAtPointer !== undefined) {
      expiresAt = parseExpiry(resolvePointer(document, this.#config.expiresAtPointer));
    }
    if (!expiresAt && this.#issueUsesLifetime && request.lifetimeSeconds !== undefined) {
      expiresAt = new Date(issuedAt + request.lifetimeSeconds * 1000);
    }
    if (expiresAt) issued.expiresAt = expiresAt;
    return issued;
  }

  async revoke(ref: TokenRef, signal?: AbortSignal): Promise<void> {
    const endpoint = this.#config.revoke;
    if (!endpoint) throw unsupported('http revoke: spec.http.revoke is not configured');
    try {
      await this.#call(
        'revoke',
        endpoint,
        { serviceAccount: ref.serviceAccount, tokenName: ref.name, tokenId: ref.id },
        {
          serviceAccount: ref.serviceAccount,
          tokenName: ref.name ?? '',
          lifetimeSeconds: undefined,
          readOnly: false,
          scopes: [],
        },
        signal,
        false,
      );
    } catch (error) {
      if (ProviderError.is(error) && error.code === 'NotFound') return;
      throw error;
    }
  }

  async lookup(ref: { name: string; serviceAccount?: string }, signal?: AbortSignal): Promise<TokenInfo | undefined> {
    const endpoint = this.#config.lookup;
    if (!endpoint) return undefined;
    let document: unknown;
    try {
      document = await this.#call(
        'lookup',
        endpoint,
        { serviceAccount: ref.serviceAccount, tokenName: ref.name },
        {
          serviceAccount: ref.serviceAccount,
          tokenName: ref.name,
          lifetimeSeconds: undefined,
          readOnly: false,
          scopes: [],
        },
        signal,
        true,
      );
    } catch (error) {
      if (ProviderError.is(error) && error.code === 'NotFound') return undefined;
      throw error;
    }
    const rawId = resolvePointer(document, this.#config.idPointer);
    const info: TokenInfo = {
      id: typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : ref.name,
      name: ref.name,
      active: true,
    };
    if (this.#config.expiresAtPointer !== undefined) {
      const expiresAt = parseExpiry(resolvePointer(document, this.#config.expiresAtPointer));
      if (expiresAt) {
        info.expiresAt = expiresAt;
        info.active = expiresAt.getTime() > this.#now();
      }
    }
    return info;
  }

  async list(): Promise<TokenInfo[]> {
    throw unsupported('http list: the generic http provider cannot list tokens');
  }

  /**
   * With a lookup endpoint: look up a name that never exists (404 or 200 both prove access). Without: GET the base
   * URL; any answer except 401/403, 429, 5xx or a network failure counts as reachable.
   */
  async check(signal?: AbortSignal): Promise<CheckResult | undefined> {
    try {
      if (this.#config.lookup) {
        await this.lookup({ name: 'tokensync-healthcheck', serviceAccount: 'tokensync-healthcheck' }, signal);
      } else {
        await this.#transport.call({
          operation: 'check',
          method: 'GET',
          path: '/',
          headers: this.#headers,
          signal,
        });
      }
    } catch (error) {
      if (!ProviderError.is(error)) throw error;
      const status = error.statusCode;
      if ((error.code === 'NotFound' || error.code === 'Permanent') && status !== 401 && status !== 403 && status)
        return undefined;
      throw error;
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

function templateValues(request: IssueRequest): TemplateValues {
  return {
    serviceAccount: request.serviceAccount,
    tokenName: request.name,
    lifetimeSeconds: request.lifetimeSeconds,
    readOnly: request.readOnly,
    scopes: request.scopes,
  };
}

export const httpProvider: ProviderModule<'http'> = {
  type: 'http',
  configSchema: httpConfigSchema,
  templateVariables: [],
  capabilities: httpCapabilities,
  create: (config, deps) => new GenericHttpProvider(config, deps),
};
