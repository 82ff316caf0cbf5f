import { randomBytes } from 'node:crypto';
import { jsonBody, type RunningStandIn, type StandInResponse, startStandIn, unknownFields } from './server.ts';

/**
 * IOMETE's service-account token API as its docs ("Service Account Access Tokens") describe it:
 * - admin base /api/v1/auth/service-accounts/{sa} and domain base /api/v1/domains/{domain}/auth/service-accounts/{sa};
 * - GET /tokens (list), POST /tokens (create), PATCH /tokens/{name} (status, maxRps), DELETE /tokens/{name};
 * - a token has a name, an expiry, a status (suspend) and a maxRps cap; nothing else is documented, so anything
 *   else in a body is refused here;
 * - "You must be in the same group as this service account to view and manage tokens" (403) without a shared group.
 * The credential travels in X-API-Token (IOMETE's API token header).
 */
export interface IometeToken {
  name: string;
  expiresAt: string | null;
  status: 'ACTIVE' | 'SUSPENDED';
  maxRps: number | null;
  value: string;
}

export interface IometeStandIn extends RunningStandIn {
  apiKey: string;
  /** Tokens by service account. */
  tokens: Map<string, IometeToken[]>;
  /** Service accounts the API key's user shares a group with (others answer 403). */
  sharedGroup: Set<string>;
}

const BASE = /^\/api\/v1\/(?:domains\/[^/]+\/)?auth\/service-accounts\/([^/]+)\/tokens(?:\/([^/]+))?$/;
const error = (status: number, message: string): StandInResponse => ({ status, body: { message } });
const view = ({ value: _value, ...token }: IometeToken) => token;

export async function startIometeStandIn(options: { sharedGroup?: string[] } = {}): Promise<IometeStandIn> {
  const apiKey = `iomete-key-${randomBytes(8).toString('hex')}`;
  const tokens = new Map<string, IometeToken[]>();
  const sharedGroup = new Set(options.sharedGroup ?? []);
  const running = await startStandIn((req) => {
    if (req.headers['x-api-token'] !== apiKey) return error(401, 'Unauthorized');
    const match = BASE.exec(req.path);
    if (!match) return error(404, 'Not found');
    const sa = decodeURIComponent(match[1]!);
    const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    if (!sharedGroup.has(sa)) {
      return error(403, 'You must be in the same group as this service account to view and manage tokens');
    }
    const list = tokens.get(sa) ?? [];
    tokens.set(sa, list);
    const body = jsonBody(req) as Record<string, unknown> | undefined;
    if (name === undefined && req.method === 'GET') return { status: 200, body: list.map(view) };
    if (name === undefined && req.method === 'POST') {
      const unknown = unknownFields(body, ['name', 'expiresAt', 'maxRps']);
      if (unknown.length) return error(400, `Unknown field(s): ${unknown.join(', ')}`);
      if (typeof body?.['name'] !== 'string') return error(400, 'name is required');
      if (list.some((t) => t.name === body['name'])) return error(409, 'A token with this name already exists');
      const token: IometeToken = {
        name: body['name'],
        expiresAt: typeof body['expiresAt'] === 'string' ? body['expiresAt'] : null,
        status: 'ACTIVE',
        maxRps: typeof body['maxRps'] === 'number' ? body['maxRps'] : null,
        value: `iom_${randomBytes(24).toString('base64url')}`,
      };
      list.push(token);
      return { status: 201, body: { ...view(token), token: token.value } };
    }
    const token = list.find((t) => t.name === name);
    if (!token) return error(404, 'Token not found');
    if (req.method === 'PATCH') {
      const unknown = unknownFields(body, ['status', 'maxRps']);
      if (unknown.length) return error(400, `Unknown field(s): ${unknown.join(', ')}`);
      if (body?.['status'] === 'ACTIVE' || body?.['status'] === 'SUSPENDED') token.status = body['status'];
      if (typeof body?.['maxRps'] === 'number') token.maxRps = body['maxRps'];
      return { status: 200, body: view(token) };
    }
    if (req.method === 'DELETE') {
      list.splice(list.indexOf(token), 1);
      return { status: 204 };
    }
    return error(405, 'Method not allowed');
  });
  return { ...running, apiKey, tokens, sharedGroup };
}
