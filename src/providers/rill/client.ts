import { z } from 'zod';
import { ProviderError } from '../errors.ts';
import type { SecretValue } from '../secret-value.ts';
import { type HttpTransport, seg } from '../transport/transport.ts';

/**
 * Raw client of Rill's admin API (the REST gateway of rill.admin.v1). Field spellings: the gateway emits
 * lowerCamelCase JSON by default, Rill's docs show snake_case: both are accepted, see RILL_WIRE.
 */
export const RILL_WIRE = {
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
        expiresOn: z.string().nullable().optional(),
        expires_on: z.string().nullable().optional(),
      }),
    )
    .optional()
    .default([]),
});

const ephemeralSchema = z
  .looseObject({
    access_token: z.string().min(1).optional(),
    accessToken: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    ttl_seconds: z.union([z.number(), z.string()]).optional(),
    ttlSeconds: z.union([z.number(), z.string()]).optional(),
    ttl: z.union([z.number(), z.string()]).optional(),
    expires_on: z.string().optional(),
    expiresOn: z.string().optional(),
  })
  .refine((v) => (v.access_token ?? v.accessToken ?? v.token) !== undefined, {
    message: 'no access_token',
    path: ['access_token'],
  });

export interface EphemeralCredentials {
  token: string;
  ttlSeconds: number | undefined;
  expiresOn: string | undefined;
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

  async listServiceTokens(
    org: string,
    service: string,
    signal?: AbortSignal,
  ): Promise<{ id: string; expiresOn: string | undefined }[]> {
    const { data } = await this.#transport.call({
      operation: 'list',
      method: 'GET',
      path: RILL_WIRE.listServiceTokens(org, service),
      headers: this.#headers(),
      schema: listSchema,
      signal,
    });
    return data.tokens.map((t) => ({ id: t.id, expiresOn: t.expiresOn ?? t.expires_on ?? undefined }));
  }

  /** Idempotent: 404 means already revoked. */
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
    return {
      token: (data.access_token ?? data.accessToken ?? data.token)!,
      ttlSeconds: ttlSeconds !== undefined && Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds : undefined,
      expiresOn: data.expires_on ?? data.expiresOn,
    };
  }

  async get(path: string, signal?: AbortSignal): Promise<void> {
    await this.#transport.call({ operation: 'check', method: 'GET', path, headers: this.#headers(), signal });
  }
}

/**
 * ASSUMPTION (from Rill's open-source admin/pkg/authtoken): a token string is `rill_<type>_<base62 payload>`
 * where the payload is a big-endian integer of 40 bytes — the token's 16-byte UUID followed by its 24-byte
 * secret — written with Go's big.Int.Text(62) alphabet (0-9, a-z, A-Z) and left-padded with zeros when shorter.
 * The UUID is the id DELETE /v1/services/tokens/{id} expects. Returns undefined when the value does not decode.
 */
const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function decodeRillTokenId(token: string): string | undefined {
  const match = /^rill_(svc|usr|dpl|mgc)_([0-9A-Za-z]+)$/.exec(token);
  if (!match) return undefined;
  let n = 0n;
  for (const char of match[2]!) {
    const digit = BASE62.indexOf(char);
    if (digit < 0) return undefined;
    n = n * 62n + BigInt(digit);
  }
  if (n >> 320n !== 0n) return undefined; // more than 40 bytes
  const hex = n.toString(16).padStart(80, '0').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Inverse of decodeRillTokenId, for tests and the benchmark: builds a token string from a UUID and a secret. */
export function encodeRillToken(type: 'svc' | 'usr', uuid: string, secret: Uint8Array): string {
  const hex = uuid.replace(/-/g, '') + Buffer.from(secret).toString('hex');
  let n = BigInt(`0x${hex}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return `rill_${type}_${out || '0'}`;
}
