import { z } from 'zod';
import { conflict, ProviderError, permanent } from '../errors.ts';
import type { SecretValue } from '../secret-value.ts';
import { parseExpiry } from '../token-utils.ts';
import { type HttpTransport, seg } from '../transport/transport.ts';

/**
 * Raw client of IOMETE's service-account token API (and of the bundled reference server, which speaks the same
 * shape). Everything about the wire that the IOMETE documentation does not spell out lives in one `IometeWire`
 * object per adapter, so a correction is a one-line change (see docs/providers.md, "Unconfirmed wire details").
 * Documented: POST/GET {base}/tokens, PATCH/DELETE {base}/tokens/{name}, a token's name, expiry, status and maxRps.
 */

export interface IometeWire {
  /** Header(s) carrying the management credential. */
  authHeaders(credential: string): Record<string, string>;
  /** JSON field names of the create and update bodies and of the token objects. */
  fields: {
    name: string;
    token: string;
    expiresAt: string;
    maxRps: string;
    status: string;
  };
  /** Status values (case-insensitive) that mean the token works. A token without status is active. */
  activeStatuses: readonly string[];
  /** The status value PATCH sets to suspend a token. */
  suspendedStatus: string;
  /** Whether GET {base}/tokens/{name} exists; otherwise lookup searches the list. */
  getByName: boolean;
}

export interface IometeToken {
  name: string;
  /** Only in create responses. */
  token: string | undefined;
  expiresAt: Date | undefined;
  status: string | undefined;
}

export interface CreateTokenInput {
  serviceAccount: string;
  name: string;
  /** Omitted from the body when undefined (no expiry). */
  expiresAt: Date | undefined;
  maxRps: number | undefined;
  /** Fields beyond IOMETE's documented ones, sent as is (the reference server's readOnly, scopes, description). */
  extra?: Record<string, unknown>;
}

/** Token lists come as a bare array; tolerate `{items|tokens|data: [...]}` envelopes too. */
const listSchema = z.union([
  z.array(z.looseObject({})),
  z.looseObject({ items: z.array(z.looseObject({})) }).transform((v) => v.items),
  z.looseObject({ tokens: z.array(z.looseObject({})) }).transform((v) => v.tokens),
  z.looseObject({ data: z.array(z.looseObject({})) }).transform((v) => v.data),
]);

export class IometeApi {
  readonly #transport: HttpTransport;
  readonly #wire: IometeWire;
  readonly #credential: SecretValue;
  readonly #domain: string | undefined;
  readonly #tokenSchema: z.ZodType<Record<string, unknown>>;
  readonly #createdSchema: z.ZodType<Record<string, unknown>>;

  constructor(options: {
    transport: HttpTransport;
    wire: IometeWire;
    credential: SecretValue;
    domain?: string | undefined;
  }) {
    this.#transport = options.transport;
    this.#wire = options.wire;
    this.#credential = options.credential;
    this.#domain = options.domain;
    const f = this.#wire.fields;
    const common = {
      [f.name]: z.string().min(1),
      [f.expiresAt]: z.union([z.string(), z.number()]).nullable().optional(),
      [f.status]: z.string().nullable().optional(),
    };
    this.#tokenSchema = z.looseObject(common);
    this.#createdSchema = z.looseObject({ ...common, [f.token]: z.string().min(1) });
  }

  /** /api/v1/auth/service-accounts/{sa} or /api/v1/domains/{domain}/auth/service-accounts/{sa}. */
  base(serviceAccount: string): string {
    const prefix = this.#domain === undefined ? '/api/v1' : `/api/v1/domains/${seg(this.#domain)}`;
    return `${prefix}/auth/service-accounts/${seg(serviceAccount)}`;
  }

  #headers(): Record<string, string> {
    return this.#wire.authHeaders(this.#credential.reveal());
  }

  #toToken(raw: Record<string, unknown>): IometeToken {
    const f = this.#wire.fields;
    const token = raw[f.token];
    const status = raw[f.status];
    return {
      name: String(raw[f.name]),
      token: typeof token === 'string' ? token : undefined,
      expiresAt: parseExpiry(raw[f.expiresAt]),
      status: typeof status === 'string' ? status : undefined,
    };
  }

  isActive(token: IometeToken, nowMs: number): boolean {
    const statusOk =
      token.status === undefined ||
      this.#wire.activeStatuses.some((s) => s.toLowerCase() === token.status?.toLowerCase());
    return statusOk && (token.expiresAt === undefined || token.expiresAt.getTime() > nowMs);
  }

  async createToken(input: CreateTokenInput, signal?: AbortSignal): Promise<IometeToken> {
    const f = this.#wire.fields;
    const body: Record<string, unknown> = { [f.name]: input.name };
    if (input.expiresAt) body[f.expiresAt] = input.expiresAt.toISOString();
    if (input.maxRps !== undefined) body[f.maxRps] = input.maxRps;
    Object.assign(body, input.extra);
    try {
      const { data } = await this.#transport.call({
        operation: 'issue',
        method: 'POST',
        path: `${this.base(input.serviceAccount)}/tokens`,
        headers: this.#headers(),
        json: body,
        schema: this.#createdSchema,
        signal,
      });
      return this.#toToken(data);
    } catch (error) {
      if (ProviderError.is(error) && error.statusCode === 409) {
        throw conflict(
          `${this.#transport.provider} issue: token "${input.name}" already exists for service account "${input.serviceAccount}" (HTTP 409)`,
        );
      }
      throw error;
    }
  }

  async listTokens(serviceAccount: string, signal?: AbortSignal, operation = 'list'): Promise<IometeToken[]> {
    const { data } = await this.#transport.call({
      operation,
      method: 'GET',
      path: `${this.base(serviceAccount)}/tokens`,
      headers: this.#headers(),
      schema: listSchema,
      signal,
    });
    return data.map((raw) => {
      const parsed = this.#tokenSchema.safeParse(raw);
      if (!parsed.success) {
        throw new ProviderError('Malformed', `${this.#transport.provider} ${operation}: a token entry has no name`);
      }
      return this.#toToken(parsed.data);
    });
  }

  /** undefined when the token does not exist (404, or absent from the list). */
  async getToken(serviceAccount: string, name: string, signal?: AbortSignal): Promise<IometeToken | undefined> {
    if (!this.#wire.getByName) {
      const tokens = await this.listTokens(serviceAccount, signal, 'lookup');
      return tokens.find((t) => t.name === name);
    }
    try {
      const { data } = await this.#transport.call({
        operation: 'lookup',
        method: 'GET',
        path: `${this.base(serviceAccount)}/tokens/${seg(name)}`,
        headers: this.#headers(),
        schema: this.#tokenSchema,
        signal,
      });
      return this.#toToken(data);
    } catch (error) {
      if (ProviderError.is(error) && error.code === 'NotFound') return undefined;
      throw error;
    }
  }

  /** Suspends a token (PATCH status); the token stays listed, inactive. Idempotent: 404 means already gone. */
  async suspendToken(serviceAccount: string, name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#transport.call({
        operation: 'revoke',
        method: 'PATCH',
        path: `${this.base(serviceAccount)}/tokens/${seg(name)}`,
        headers: this.#headers(),
        json: { [this.#wire.fields.status]: this.#wire.suspendedStatus },
        signal,
      });
    } catch (error) {
      if (ProviderError.is(error) && error.code === 'NotFound') return;
      throw error;
    }
  }

  /** Idempotent: 404 means already deleted. */
  async deleteToken(serviceAccount: string, name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#transport.call({
        operation: 'revoke',
        method: 'DELETE',
        path: `${this.base(serviceAccount)}/tokens/${seg(name)}`,
        headers: this.#headers(),
        signal,
      });
    } catch (error) {
      if (ProviderError.is(error) && error.code === 'NotFound') return;
      throw error;
    }
  }

  async get(operation: string, path: string, signal?: AbortSignal): Promise<void> {
    await this.#transport.call({ operation, method: 'GET', path, headers: this.#headers(), signal });
  }
}

export const requireServiceAccount = (provider: string, operation: string, sa: string | undefined): string => {
  if (!sa) throw permanent(`${provider} ${operation}: spec.serviceAccount is required for this provider`);
  return sa;
};
