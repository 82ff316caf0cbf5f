import type { Interceptable, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { confirmNewTokenId } from '../../../src/providers/rill/index.ts';
import type { ProviderClient } from '../../../src/providers/types.ts';
import { describeHttpContract } from './contract.ts';
import { config, deps, issueRequest, MGMT_KEY, mockAgent, ORIGIN, providerError } from './helpers.ts';

const TOKEN_ID = '3f1e2d4c-5b6a-4798-8a1b-2c3d4e5f6a7b';
const OTHER_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
/** Rill prints service tokens as rill_svc_…; the list shows each token's id and the first characters (prefix). */
const SVC_TOKEN = 'rill_svc_Kx3mQ9vTz2LwP8nR5sYb7cJd4fHg6aEu1oIi0pWq';
const OTHER_TOKEN = 'rill_svc_Zt8yUe3wQa1sDf5gHj7kLz9xCv2bNm4QpLo6iKuJ';
const prefixOf = (token: string) => token.slice(0, 15);
const entry = (id: string, token: string) => ({
  id,
  prefix: prefixOf(token),
  createdOn: '2029-12-31T00:00:00Z',
  expiresOn: '0001-01-01T00:00:00Z',
});
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;
const EPHEMERAL = jwt({ exp: Date.parse('2030-01-01T00:30:00Z') / 1000, jti: 'jwt-id-1', sub: 'user@example.com' });

const serviceConfig = config({ type: 'rill', rill: { org: 'acme', mode: 'serviceToken' } });
const ephemeralConfig = config({ type: 'rill', rill: { org: 'acme', mode: 'ephemeral', project: 'sales' } });
const SERVICE_TOKENS = '/v1/orgs/acme/services/etl-bot/tokens';
/** Service tokens take no readOnly, scopes or attributes: requests carry none. */
const serviceRequest = (extra: Parameters<typeof issueRequest>[0] = {}) => issueRequest({ scopes: [], ...extra });

/** GET of the service's tokens answering `lists` in turn (the last one from then on). */
function listReplies(pool: Interceptable, ...lists: Array<Array<ReturnType<typeof entry>>>): void {
  let call = 0;
  pool
    .intercept({ method: 'GET', path: SERVICE_TOKENS })
    .reply(() => ({ statusCode: 200, data: { tokens: lists[Math.min(call++, lists.length - 1)] } }))
    .persist();
}

describeHttpContract({
  label: 'rill',
  config: serviceConfig,
  make: (c, d) => createProviderClient(c, d),
  issue: {
    method: 'POST',
    path: SERVICE_TOKENS,
    status: 200,
    body: { token: SVC_TOKEN },
    tokenValue: SVC_TOKEN,
    request: serviceRequest(),
    invalidBody: { token: '' },
    supporting: (pool) => listReplies(pool, [], [entry(TOKEN_ID, SVC_TOKEN)]),
  },
  revoke: {
    method: 'DELETE',
    path: `/v1/services/tokens/${TOKEN_ID}`,
    ref: { id: TOKEN_ID, serviceAccount: 'etl-bot' },
    supporting: (pool) => listReplies(pool, [entry(TOKEN_ID, SVC_TOKEN)], []),
  },
});

describeHttpContract({
  label: 'rill',
  config: ephemeralConfig,
  make: (c, d) => createProviderClient(c, d),
  issue: {
    method: 'POST',
    path: '/v1/orgs/acme/projects/sales/credentials',
    status: 200,
    body: { access_token: EPHEMERAL, ttl_seconds: 1800, runtime_host: 'https://rt.rilldata.com', instance_id: 'i-1' },
    tokenValue: EPHEMERAL,
    request: issueRequest({ scopes: [] }),
    invalidBody: { ttl_seconds: 1800 },
  },
});

describe('rill: the id of a new service token comes from the list, never from the value', () => {
  const before = new Set([OTHER_ID]);
  it('is the one new entry whose prefix starts the value', () => {
    expect(confirmNewTokenId(SVC_TOKEN, before, [entry(OTHER_ID, OTHER_TOKEN), entry(TOKEN_ID, SVC_TOKEN)])).toBe(
      TOKEN_ID,
    );
  });
  it('accepts a prefix listed without the rill_svc_ marker, and an entry without prefix when it is the only new one', () => {
    expect(confirmNewTokenId(SVC_TOKEN, new Set(), [{ id: TOKEN_ID, prefix: 'Kx3mQ9', expiresOn: undefined }])).toBe(
      TOKEN_ID,
    );
    expect(confirmNewTokenId(SVC_TOKEN, new Set(), [{ id: TOKEN_ID, prefix: undefined, expiresOn: undefined }])).toBe(
      TOKEN_ID,
    );
  });
  it('of two new tokens (a concurrent mint), picks the one whose prefix matches', () => {
    const concurrent = [entry(OTHER_ID, OTHER_TOKEN), entry(TOKEN_ID, SVC_TOKEN)];
    expect(confirmNewTokenId(SVC_TOKEN, new Set(), concurrent)).toBe(TOKEN_ID);
  });
  it('is undefined when no single new entry qualifies: nothing new, a mismatching prefix, or no way to tell', () => {
    expect(confirmNewTokenId(SVC_TOKEN, before, [entry(OTHER_ID, OTHER_TOKEN)])).toBeUndefined();
    expect(confirmNewTokenId(SVC_TOKEN, new Set(), [entry(TOKEN_ID, OTHER_TOKEN)])).toBeUndefined();
    const unprefixed = [
      { id: TOKEN_ID, prefix: undefined, expiresOn: undefined },
      { id: OTHER_ID, prefix: undefined, expiresOn: undefined },
    ];
    expect(confirmNewTokenId(SVC_TOKEN, new Set(), unprefixed)).toBeUndefined();
  });
});

describe('rill adapter', () => {
  let agent: MockAgent;
  let d: ReturnType<typeof deps>;
  let client: ProviderClient;
  beforeEach(() => {
    agent = mockAgent();
    d = deps(agent);
    client = createProviderClient(serviceConfig, d);
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  const pool = () => agent.get(ORIGIN);

  it('service tokens: Bearer auth, the id confirmed by the list (new id, matching prefix), never expire', async () => {
    let auth: string | undefined;
    listReplies(pool(), [entry(OTHER_ID, OTHER_TOKEN)], [entry(OTHER_ID, OTHER_TOKEN), entry(TOKEN_ID, SVC_TOKEN)]);
    pool()
      .intercept({ method: 'POST', path: SERVICE_TOKENS })
      .reply((opts) => {
        auth = (opts.headers as Record<string, string>)['authorization'];
        return { statusCode: 200, data: { token: SVC_TOKEN } };
      });
    const issued = await client.issue(serviceRequest());
    expect(auth).toBe(`Bearer ${MGMT_KEY}`);
    expect(issued).toMatchObject({ id: TOKEN_ID, name: 'ts-ns-tok-1' });
    expect(issued.expiresAt).toBeUndefined();
    expect(d.seen.map((e) => e.operation)).toEqual(['list', 'issue', 'list']);
    expect(client.capabilities).toEqual({
      mode: 'mint',
      revoke: true,
      lookupByName: false,
      list: true,
      expiry: 'never',
      accepts: { readOnly: false, scopes: false, attributes: [] },
    });
  });

  it('grants no expiry whatever lifetime is asked: Rill service tokens take no TTL and never expire', async () => {
    listReplies(pool(), [], [entry(TOKEN_ID, SVC_TOKEN)]);
    pool().intercept({ method: 'POST', path: SERVICE_TOKENS }).reply(200, { token: SVC_TOKEN });
    const issued = await client.issue(serviceRequest({ lifetimeSeconds: 120 }));
    expect(issued.expiresAt).toBeUndefined();
    expect(issued.id).toBe(TOKEN_ID);
  });

  it('a value in another format is tracked by the list, not decoded', async () => {
    listReplies(pool(), [], [{ ...entry(TOKEN_ID, 'x'), prefix: 'svc-opaque' }]);
    pool().intercept({ method: 'POST', path: SERVICE_TOKENS }).reply(200, { token: 'svc-opaque-value-7Yh2' });
    expect((await client.issue(serviceRequest())).id).toBe(TOKEN_ID);
  });

  it('a token the list does not confirm is Malformed, says it is live and untracked, and never quotes the value', async () => {
    listReplies(pool(), [entry(OTHER_ID, OTHER_TOKEN)]);
    pool().intercept({ method: 'POST', path: SERVICE_TOKENS }).reply(200, { token: SVC_TOKEN });
    const error = await providerError(client.issue(serviceRequest()));
    expect(error.code).toBe('Malformed');
    expect(error.message).toMatch(/live in Rill/);
    expect(error.message).not.toContain(SVC_TOKEN);
  });

  it('refuses readOnly, scopes and attributes, which a service token cannot carry', async () => {
    const error = await providerError(client.issue(serviceRequest({ readOnly: true, attributes: { team: 'x' } })));
    expect(error.code).toBe('Permanent');
    expect(error.message).toContain('spec.readOnly, spec.attributes.team are not supported by rill');
    expect(d.seen).toEqual([]);
  });

  it('revoke deletes a listed token once and succeeds only when the list no longer shows it', async () => {
    listReplies(pool(), [entry(TOKEN_ID, SVC_TOKEN)], []);
    pool()
      .intercept({ method: 'DELETE', path: `/v1/services/tokens/${TOKEN_ID}` })
      .reply(200, {});
    await client.revoke({ id: TOKEN_ID, name: 'ts-ns-tok-1', serviceAccount: 'etl-bot' });
    expect(d.seen.map((e) => e.operation)).toEqual(['list', 'revoke', 'list']);
  });

  it('a second revoke of the same token finds it gone and sends no DELETE', async () => {
    listReplies(pool(), []);
    await client.revoke({ id: TOKEN_ID, serviceAccount: 'etl-bot' });
    await client.revoke({ id: TOKEN_ID, serviceAccount: 'etl-bot' });
    expect(d.seen.map((e) => e.operation)).toEqual(['list', 'list']);
  });

  it('a 404 on DELETE for a token still listed is not success (the id was wrong, the token is live)', async () => {
    listReplies(pool(), [entry(TOKEN_ID, SVC_TOKEN)]);
    pool()
      .intercept({ method: 'DELETE', path: `/v1/services/tokens/${TOKEN_ID}` })
      .reply(404, { message: 'not found' });
    const error = await providerError(client.revoke({ id: TOKEN_ID, serviceAccount: 'etl-bot' }));
    expect(error.code).toBe('Transient');
    expect(error.message).toContain('still listed');
  });

  it('revoke needs the service name to confirm, and an unknown service (404 on the list) has no tokens left', async () => {
    expect((await providerError(client.revoke({ id: TOKEN_ID }))).code).toBe('Permanent');
    pool().intercept({ method: 'GET', path: SERVICE_TOKENS }).reply(404, { code: 5, message: 'service not found' });
    await expect(client.revoke({ id: TOKEN_ID, serviceAccount: 'etl-bot' })).resolves.toBeUndefined();
  });

  it('lists a service’s tokens by id; the Go zero time means no expiry', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/v1/orgs/acme/services/etl-bot/tokens' })
      .reply(200, {
        tokens: [
          {
            id: TOKEN_ID,
            prefix: 'rill_svc_abc',
            createdOn: '2029-01-01T00:00:00Z',
            expiresOn: '0001-01-01T00:00:00Z',
          },
        ],
      });
    expect(await client.list('etl-bot')).toEqual([{ id: TOKEN_ID, name: TOKEN_ID, active: true }]);
  });

  it('lookup by name finds nothing (Rill tokens have no names) and calls nothing', async () => {
    expect(await client.lookup({ name: 'ts-ns-tok-1', serviceAccount: 'etl-bot' })).toBeUndefined();
    expect(d.seen).toEqual([]);
  });

  it('check reads the organization', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/v1/orgs/acme' })
      .reply(200, { organization: { name: 'acme' } });
    await expect(client.check()).resolves.toBeUndefined();
  });

  it('ephemeral: sends attributes and ttl_seconds, expiry from ttl_seconds', async () => {
    client = createProviderClient(ephemeralConfig, d);
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/v1/orgs/acme/projects/sales/credentials' })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 200, data: { access_token: EPHEMERAL, ttl_seconds: 600 } };
      });
    const issued = await client.issue(
      issueRequest({ scopes: [], lifetimeSeconds: 600, attributes: { email: 'u@example.com', region: 'us-west' } }),
    );
    expect(body).toEqual({ attributes: { email: 'u@example.com', region: 'us-west' }, ttl_seconds: 600 });
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T00:10:00.000Z');
    expect(issued.id).toBe('jwt-id-1');
    expect(client.capabilities).toMatchObject({ revoke: false, list: false, expiry: 'always' });
  });

  it('ephemeral: the runtime host and instance id from the response reach Secret templates', async () => {
    client = createProviderClient(ephemeralConfig, d);
    pool().intercept({ method: 'POST', path: '/v1/orgs/acme/projects/sales/credentials' }).reply(200, {
      runtime_host: 'https://runtime-7.rilldata.com',
      instance_id: 'inst-42',
      access_token: EPHEMERAL,
      ttl_seconds: 900,
    });
    const issued = await client.issue(issueRequest({ scopes: [], attributes: { email: 'u@example.com' } }));
    expect(issued.templateData).toEqual({ runtimeHost: 'https://runtime-7.rilldata.com', instanceId: 'inst-42' });
    pool()
      .intercept({ method: 'POST', path: '/v1/orgs/acme/projects/sales/credentials' })
      .reply(200, { runtimeHost: 'https://rt.example', instanceId: 'i-2', accessToken: EPHEMERAL });
    expect((await client.issue(issueRequest({ scopes: [] }))).templateData).toEqual({
      runtimeHost: 'https://rt.example',
      instanceId: 'i-2',
    });
  });

  it('ephemeral: refuses readOnly and scopes, which ephemeral credentials do not take', async () => {
    client = createProviderClient(ephemeralConfig, d);
    const error = await providerError(client.issue(issueRequest({ readOnly: true })));
    expect(error.message).toContain('spec.readOnly, spec.scopes are not supported by rill');
  });

  it('defaults to Rill Cloud (https://api.rilldata.com) when spec.url is unset', async () => {
    const { url: _url, ...noUrl } = serviceConfig;
    client = createProviderClient(noUrl, d);
    agent.get('https://api.rilldata.com').intercept({ method: 'GET', path: '/v1/orgs/acme' }).reply(200, {});
    await expect(client.check()).resolves.toBeUndefined();
  });

  it('ephemeral: email alone is sent as user_email; expiry falls back to the JWT exp claim', async () => {
    client = createProviderClient(ephemeralConfig, d);
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/v1/orgs/acme/projects/sales/credentials' })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 200, data: { accessToken: EPHEMERAL } };
      });
    const issued = await client.issue(
      issueRequest({ scopes: [], lifetimeSeconds: undefined, attributes: { email: 'u@example.com' } }),
    );
    expect(body).toEqual({ user_email: 'u@example.com' });
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T00:30:00.000Z');
  });

  it('ephemeral: check reads the project; list is Unsupported', async () => {
    client = createProviderClient(ephemeralConfig, d);
    agent.get(ORIGIN).intercept({ method: 'GET', path: '/v1/orgs/acme/projects/sales' }).reply(200, {});
    await client.check();
    expect((await providerError(client.list('x'))).code).toBe('Unsupported');
  });

  it('ephemeral mode without a project is a configuration error', () => {
    expect(() => createProviderClient(config({ type: 'rill', rill: { org: 'acme', mode: 'ephemeral' } }), d)).toThrow(
      /project/,
    );
  });
});
