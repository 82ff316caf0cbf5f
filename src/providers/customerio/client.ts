import { z } from 'zod';
import type { SecretValue } from '../secret-value.ts';
import type { HttpTransport } from '../transport/transport.ts';

/**
 * Raw client of Customer.io's service-account token exchange: a long-lived sa_live_ token is exchanged for a
 * short-lived access token (OAuth 2 client_credentials, form-encoded). The path and field names are isolated in
 * CUSTOMERIO_WIRE (the public docs describe the exchange and the read-only session, not the raw request).
 */
export const CUSTOMERIO_WIRE = {
  tokenPath: '/v1/service_accounts/oauth/token',
  grantType: 'client_credentials',
  secretField: 'client_secret',
  readOnlyScope: 'read_only',
} as const;

const tokenSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string()]).optional(),
  scope: z.string().optional(),
});

export interface ExchangedToken {
  accessToken: string;
  expiresInSeconds: number | undefined;
  scopes: string[] | undefined;
}

export class CustomerioApi {
  readonly #transport: HttpTransport;
  readonly #credential: SecretValue;

  constructor(transport: HttpTransport, credential: SecretValue) {
    this.#transport = transport;
    this.#credential = credential;
  }

  async exchange(options: { readOnly: boolean; operation: string }, signal?: AbortSignal): Promise<ExchangedToken> {
    const form = new URLSearchParams();
    form.set('grant_type', CUSTOMERIO_WIRE.grantType);
    form.set(CUSTOMERIO_WIRE.secretField, this.#credential.reveal());
    if (options.readOnly) form.set('scope', CUSTOMERIO_WIRE.readOnlyScope);
    const { data } = await this.#transport.call({
      operation: options.operation,
      method: 'POST',
      path: CUSTOMERIO_WIRE.tokenPath,
      form,
      schema: tokenSchema,
      signal,
    });
    const expiresIn = data.expires_in === undefined ? undefined : Number(data.expires_in);
    return {
      accessToken: data.access_token,
      expiresInSeconds: expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
      scopes: data.scope === undefined ? undefined : data.scope.split(/[\s,]+/).filter(Boolean),
    };
  }
}
