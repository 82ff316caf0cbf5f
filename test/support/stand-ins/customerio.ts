import { randomBytes } from 'node:crypto';
import { type RunningStandIn, type StandInResponse, startStandIn } from './server.ts';

/**
 * Customer.io service accounts as their docs describe them: a long-lived `sa_live_…` token is exchanged for
 * short-lived sessions (read-only on request), revoking the token ends every session. The exchange path and field
 * names are the ones tokensync assumes (CUSTOMERIO_WIRE): the docs describe the exchange, not the raw request.
 */
export interface CustomerioStandIn extends RunningStandIn {
  serviceAccountToken: string;
  /** Exchanges performed (each opens a session upstream: what a readiness check must not do). */
  exchanges: number;
  revoked: boolean;
  sessionSeconds: number;
}

const error = (status: number, code: string, description: string): StandInResponse => ({
  status,
  body: { error: code, error_description: description },
});

export async function startCustomerioStandIn(options: { sessionSeconds?: number } = {}): Promise<CustomerioStandIn> {
  const state = {
    serviceAccountToken: `sa_live_${randomBytes(20).toString('base64url')}`,
    exchanges: 0,
    revoked: false,
    sessionSeconds: options.sessionSeconds ?? 3600,
  };
  const running = await startStandIn((req) => {
    if (req.method !== 'POST' || req.path !== '/v1/service_accounts/oauth/token') {
      return { status: 404, body: { errors: [{ detail: 'route not found' }] } };
    }
    const form = new URLSearchParams(req.body);
    if (form.get('grant_type') !== 'client_credentials') return error(400, 'unsupported_grant_type', 'grant_type');
    if (form.get('client_secret') !== standIn.serviceAccountToken || standIn.revoked) {
      return error(401, 'invalid_client', 'the service account token is invalid or revoked');
    }
    standIn.exchanges++;
    const readOnly = form.get('scope') === 'read_only';
    return {
      status: 200,
      body: {
        access_token: `cio_${randomBytes(24).toString('base64url')}`,
        token_type: 'Bearer',
        expires_in: standIn.sessionSeconds,
        ...(readOnly ? { scope: 'read_only' } : {}),
      },
    };
  });
  const standIn: CustomerioStandIn = { ...running, ...state };
  return standIn;
}
