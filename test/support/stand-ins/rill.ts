import { randomBytes, randomUUID } from 'node:crypto';
import { jsonBody, type RunningStandIn, type StandInResponse, startStandIn, unknownFields } from './server.ts';

/**
 * Rill Cloud's admin API as its docs ("Service Tokens", the Rill CLI reference) describe it:
 * - service tokens are `rill_svc_…`, shown once; a service's tokens are listed by id and prefix (the first
 *   characters of the value), never by value; deleting a token revokes it at once;
 * - POST /v1/orgs/{org}/projects/{project}/credentials with `attributes` or `user_email` and `ttl_seconds` issues
 *   a short-lived JWT for a user, returned with the runtime host and instance id that serve the project.
 * Authentication: `Authorization: Bearer <service token>`.
 */
export interface RillServiceToken {
  id: string;
  service: string;
  value: string;
  createdOn: string;
}

export interface RillStandIn extends RunningStandIn {
  credential: string;
  org: string;
  tokens: RillServiceToken[];
  /** DELETE calls per token id, to prove one revoke per token. */
  deletes: Map<string, number>;
  runtimeHost: string;
  instanceId: string;
}

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const base62 = (length: number) => Array.from(randomBytes(length), (b) => BASE62[b % 62]).join('');
const error = (status: number, code: number, message: string): StandInResponse => ({
  status,
  body: { code, message, details: [] },
});
/** The prefix Rill lists: enough of the value to recognise it, never enough to use it. */
export const RILL_PREFIX_LENGTH = 14;

export async function startRillStandIn(options: { org?: string; services?: string[]; project?: string } = {}) {
  const credential = `rill_svc_${base62(40)}`;
  const org = options.org ?? 'acme';
  const project = options.project ?? 'sales';
  const services = new Set(options.services ?? ['etl-bot']);
  const tokens: RillServiceToken[] = [];
  const deletes = new Map<string, number>();
  const runtimeHost = 'https://runtime-7.rilldata.example';
  const instanceId = `inst-${base62(8)}`;
  const running = await startStandIn((req) => {
    if (req.headers['authorization'] !== `Bearer ${credential}`) return error(401, 16, 'auth token is invalid');
    const path = req.path.split('?')[0]!;
    let m = /^\/v1\/orgs\/([^/]+)\/services\/([^/]+)\/tokens$/.exec(path);
    if (m) {
      if (m[1] !== org || !services.has(decodeURIComponent(m[2]!))) return error(404, 5, 'service not found');
      const service = decodeURIComponent(m[2]!);
      if (req.method === 'GET') {
        return {
          status: 200,
          body: {
            tokens: tokens
              .filter((t) => t.service === service)
              .map((t) => ({
                id: t.id,
                prefix: t.value.slice(0, RILL_PREFIX_LENGTH),
                created_on: t.createdOn,
                expires_on: null,
              })),
          },
        };
      }
      if (req.method === 'POST') {
        const unknown = unknownFields(jsonBody(req), []);
        if (unknown.length) return error(400, 3, `unknown field "${unknown[0]}"`);
        const token = {
          id: randomUUID(),
          service,
          value: `rill_svc_${base62(40)}`,
          createdOn: new Date().toISOString(),
        };
        tokens.push(token);
        return { status: 200, body: { token: token.value } };
      }
    }
    m = /^\/v1\/services\/tokens\/([^/]+)$/.exec(path);
    if (m && req.method === 'DELETE') {
      const id = decodeURIComponent(m[1]!);
      deletes.set(id, (deletes.get(id) ?? 0) + 1);
      const index = tokens.findIndex((t) => t.id === id);
      if (index === -1) return error(404, 5, 'token not found');
      tokens.splice(index, 1);
      return { status: 200, body: {} };
    }
    m = /^\/v1\/orgs\/([^/]+)\/projects\/([^/]+)\/credentials$/.exec(path);
    if (m && req.method === 'POST') {
      if (m[1] !== org || m[2] !== project) return error(404, 5, 'project not found');
      const body = (jsonBody(req) ?? {}) as Record<string, unknown>;
      const unknown = unknownFields(body, ['attributes', 'user_email', 'user_id', 'ttl_seconds']);
      if (unknown.length) return error(400, 3, `unknown field "${unknown[0]}"`);
      const ttl = typeof body['ttl_seconds'] === 'number' ? body['ttl_seconds'] : 7200;
      const exp = Math.floor(Date.now() / 1000) + ttl;
      const claims = Buffer.from(JSON.stringify({ exp, jti: randomUUID(), sub: body['user_email'] ?? 'attrs' }));
      return {
        status: 200,
        body: {
          runtime_host: runtimeHost,
          instance_id: instanceId,
          access_token: `eyJhbGciOiJSUzI1NiJ9.${claims.toString('base64url')}.${base62(20)}`,
          ttl_seconds: ttl,
        },
      };
    }
    if (req.method === 'GET' && path === `/v1/orgs/${org}`)
      return { status: 200, body: { organization: { name: org } } };
    if (req.method === 'GET' && path === `/v1/orgs/${org}/projects/${project}`) {
      return { status: 200, body: { project: { name: project } } };
    }
    return error(404, 5, 'not found');
  });
  return { ...running, credential, org, tokens, deletes, runtimeHost, instanceId } satisfies RillStandIn;
}
