import { z } from 'zod';
import { ProviderError } from '../errors.ts';
import type { SecretValue } from '../secret-value.ts';
import { type HttpTransport, seg } from '../transport/transport.ts';

/**
 * Raw client of Rill's admin API (the REST gateway of rill.admin.v1). Field spellings: the gateway emits
 * lowerCamelCase JSON by default, Rill's docs show snake_case: both are accepted.
 */
export const RILL_WIRE = {
  /** Rill Cloud, the host Rill's docs use (https://api.rilldata.com/v1/...); spec.url overrides it. */
  defaultUrl: 'https://api.rilldata.com',
  authHeaders: (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` }),
  issueServiceToken: (org: string, service: string) => `/v1/orgs/${seg(org)}/services/${seg(service)}/tokens`,
  listServiceTokens: (org: string, service: string) => `/v1/orgs/${seg(org)}/services/${seg(service)}/tokens`,
  revokeServiceToken: (id: string) => `/v1/services/tokens/${seg(id)}`,
  ephemeralCredentials: (org: string, project: string) => `/v1/orgs/${seg(org)}/projects/${seg(project)}/credentials`,
  /** check(): GetOrganization / GetProject — read-only calls any valid service token may make. */
  organization: (org: string) => `/v1/orgs/${seg(org)}`,
  project: (org: string, project: string) => `/v1/orgs/${seg(org)}/projects/${seg(project)}`,
} as const;

const issueSchema = z.looseObject({ token: z.string().min(1) });

const listSchema = z.looseObject({
  tokens: z
    .array(
      z.looseObject({
        id: z.string().min(1),
        prefix: z.string().nullable().optional(),
        expiresOn: z.string().nullable().optional(),
        expires_on: z.string().nullable().optional(),
      }),
    )
    .nullable()
    .optional(),
});

const text = z.string().min(1);
const seconds = z.union([z.number(), z.string()]);
const ephemeralSchema = z
  .looseObject({
    access_token: text.optional(),
    accessToken: text.optional(),
    token: text.optional(),
    ttl_seconds: seconds.optional(),
    ttlSeconds: seconds.optional(),
    ttl: seconds.optional(),
    expires_on: z.string().optional(),
    expiresOn: z.string().optional(),
    runtime_host: z.string().optional(),
    runtimeHost: z.string().optional(),
    instance_id: z.string().optional(),
    instanceId: z.string().optional(),
  })
  .refine((v) => (v.access_token ?? v.accessToken ?? v.token) !== undefined, {
    message: 'no access_token',
    path: ['access_token'],
  });

export interface ServiceTokenEntry {
  id: string;
  /** The first characters of the token value, as Rill lists them; undefined when the API omits it. */
  prefix: string | undefined;
  expiresOn: string | undefined;
}

export interface EphemeralCredentials {
  token: string;
  ttlSeconds: number | undefined;
  expiresOn: string | undefined;
  /** Where the workload sends its queries with this JWT, and which runtime instance serves the project. */
  runtimeHost: string | undefined;
  instanceId: string | undefined;
}

export class RillApi {
  readonly #transport: HttpTransport;
  readonly #credential: SecretValue;

  constructor(transport: HttpTransport, credential: SecretValue) {
    this.#transport = transport;
    this.#credential = credential;
  }

  #headers() {
    return RILL_WIRE.authHeaders(this.#credential.reveal());
  }

  async issueServiceToken(org: string, service: string, signal?: AbortSignal): Promise<string> {
    const { data } = await this.#transport.call({
      operation: 'issue',
      method: 'POST',
      path: RILL_WIRE.issueServiceToken(org, service),
      headers: this.#headers(),
      json: {},
      schema: issueSchema,
      signal,
    });
    return data.token;
  }

  /** The service's tokens; an unknown service (404) has none. */
  async listServiceTokens(
    org: string,
    service: string,
    signal?: AbortSignal,
    operation = 'list',
  ): Promise<ServiceTokenEntry[]> {
    try {
      const { data } = await this.#transport.call({
        operation,
        method: 'GET',
        path: RILL_WIRE.listServiceTokens(org, service),
        headers: this.#headers(),
        schema: listSchema,
        signal,
      });
      return (data.tokens ?? []).map((t) => ({
        id: t.id,
        prefix: t.prefix ?? undefined,
        expiresOn: t.expiresOn ?? t.expires_on ?? undefined,
      }));
    } catch (error) {
      if (ProviderError.is(error) && error.code === 'NotFound') return [];
      throw error;
    }
  }

  /** DELETE by id; a 404 resolves too (the caller confirms with the list either way). */
  async revokeServiceToken(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#transport.call({
        operation: 'revoke',
        method: 'DELETE',
        path: RILL_WIRE.revokeServiceToken(id),
        headers: this.#headers(),
        signal,
      });
    } catch (error) {
      if (ProviderError.is(error) && error.code === 'NotFound') return;
      throw error;
    }
  }

  async ephemeralCredentials(
    org: string,
    project: string,
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<EphemeralCredentials> {
    const { data } = await this.#transport.call({
      operation: 'issue',
      method: 'POST',
      path: RILL_WIRE.ephemeralCredentials(org, project),
      headers: this.#headers(),
      json: body,
      schema: ephemeralSchema,
      signal,
    });
    const ttl = data.ttl_seconds ?? data.ttlSeconds ?? data.ttl;
    const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
    const runtimeHost = data.runtime_host ?? data.runtimeHost;
    const instanceId = data.instance_id ?? data.instanceId;
    return {
      token: (data.access_token ?? data.accessToken ?? data.token)!,
      ttlSeconds: ttlSeconds !== undefined && Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds : undefined,
      expiresOn: data.expires_on ?? data.expiresOn,
      runtimeHost: runtimeHost || undefined,
      instanceId: instanceId || undefined,
    };
  }

  async get(path: string, signal?: AbortSignal): Promise<void> {
    await this.#transport.call({ operation: 'check', method: 'GET', path, headers: this.#headers(), signal });
  }
}

/** `rill_svc_…` → the part after the type marker, which a listed prefix may be given without. */
const payloadOf = (value: string): string => value.replace(/^rill_[a-z]{3}_/, '');

/**
 * Whether a listed prefix is consistent with this token value: its start, with or without the `rill_xxx_` type
 * marker. An absent or empty prefix says nothing and matches nothing.
 */
export function prefixMatches(value: string, prefix: string | undefined): boolean {
  if (!prefix) return false;
  return value.startsWith(prefix) || payloadOf(value).startsWith(payloadOf(prefix));
}
