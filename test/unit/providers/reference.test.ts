import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProviderClient } from '../../../src/providers/registry.ts';
import type { ProviderClient } from '../../../src/providers/types.ts';
import { describeHttpContract } from './contract.ts';
import { config, deps, issueRequest, MGMT_KEY, mockAgent, ORIGIN, providerError } from './helpers.ts';

const TOKEN = 'rsa_tok_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg';
const BASE = '/api/v1/auth/service-accounts/etl-bot';
const created = {
  name: 'ts-ns-tok-1',
  token: TOKEN,
  createdAt: '2030-01-01T00:00:00Z',
  expiresAt: '2030-01-01T01:00:00Z',
  readOnly: false,
  scopes: ['read'],
  maxRps: null,
  status: 'ACTIVE',
  description: 'tokensync team-a/etl uid=uid-123',
};

describeHttpContract({
  label: 'reference',
  config: { type: 'reference' },
  make: (c, d) => createProviderClient(c, d),
  issue: {
    method: 'POST',
    path: `${BASE}/tokens`,
    status: 201,
    body: created,
    tokenValue: TOKEN,
    invalidBody: { name: 'x', token: 42 },
  },
  revoke: {
    method: 'DELETE',
    path: `${BASE}/tokens/ts-ns-tok-1`,
    ref: { id: 'ts-ns-tok-1', serviceAccount: 'etl-bot' },
  },
});

describe('reference adapter', () => {
  let agent: MockAgent;
  let client: ProviderClient;
  beforeEach(() => {
    agent = mockAgent();
    client = createProviderClient(config({ type: 'reference' }), deps(agent));
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('authenticates with Authorization: Bearer and looks tokens up with GET by name', async () => {
    let auth: string | undefined;
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: `${BASE}/tokens/ts-ns-tok-1` })
      .reply((opts) => {
        auth = (opts.headers as Record<string, string>)['authorization'];
        const { token: _t, ...view } = created;
        return { statusCode: 200, data: view };
      });
    expect(await client.lookup({ name: 'ts-ns-tok-1', serviceAccount: 'etl-bot' })).toMatchObject({
      id: 'ts-ns-tok-1',
      active: true,
    });
    expect(auth).toBe(`Bearer ${MGMT_KEY}`);
  });

  it('sends what the reference server documents beyond IOMETE: readOnly, scopes and an owner description', async () => {
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: `${BASE}/tokens` })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 201, data: created };
      });
    await client.issue(issueRequest({ readOnly: true, attributes: { maxRps: '3' } }));
    expect(body).toEqual({
      name: 'ts-ns-tok-1',
      expiresAt: '2030-01-01T01:00:00.000Z',
      maxRps: 3,
      readOnly: true,
      scopes: ['read'],
      description: 'tokensync team-a/etl uid=uid-123',
    });
  });

  it('lookup of a missing token (404) is undefined', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: `${BASE}/tokens/nope` })
      .reply(404, { error: 'not_found' });
    expect(await client.lookup({ name: 'nope', serviceAccount: 'etl-bot' })).toBeUndefined();
  });

  it('check calls /healthz then proves the admin key on the list endpoint', async () => {
    agent.get(ORIGIN).intercept({ method: 'GET', path: '/healthz' }).reply(200, 'ok');
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/api/v1/auth/service-accounts/tokensync-healthcheck/tokens' })
      .reply(404, { error: 'not_found' });
    await expect(client.check()).resolves.toBeUndefined();
  });

  it('check fails Transient when /healthz is down', async () => {
    agent.get(ORIGIN).intercept({ method: 'GET', path: '/healthz' }).reply(503, 'draining');
    expect((await providerError(client.check())).code).toBe('Transient');
  });

  it('a base URL with a path prefix is kept', async () => {
    client = createProviderClient(config({ type: 'reference', url: `${ORIGIN}/creds/` }), deps(agent));
    agent
      .get(ORIGIN)
      .intercept({ method: 'DELETE', path: `/creds${BASE}/tokens/a` })
      .reply(204);
    await client.revoke({ id: 'a', serviceAccount: 'etl-bot' });
  });
});
