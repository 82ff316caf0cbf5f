import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProviderClient } from '../../../src/providers/registry.ts';
import type { ProviderClient } from '../../../src/providers/types.ts';
import { describeHttpContract } from './contract.ts';
import { config, deps, issueRequest, MGMT_KEY, mockAgent, ORIGIN, providerError } from './helpers.ts';

const TOKEN = 'iom_tok_6f1c0e8a9b2d4c7e8f0a1b2c3d4e5f60';
const BASE = '/api/v1/auth/service-accounts/etl-bot';
/** A token as IOMETE documents it: name, expiry, status, maxRps (and the value, once, on create). */
const created = {
  name: 'ts-ns-tok-1',
  token: TOKEN,
  expiresAt: '2030-01-01T01:00:00Z',
  maxRps: null,
  status: 'ACTIVE',
};
/** IOMETE documents no read-only flag and no scopes: requests carry neither. */
const iometeRequest = (extra: Parameters<typeof issueRequest>[0] = {}) => issueRequest({ scopes: [], ...extra });

describeHttpContract({
  label: 'iomete',
  config: { type: 'iomete' },
  make: (c, d) => createProviderClient(c, d),
  issue: {
    method: 'POST',
    path: `${BASE}/tokens`,
    status: 201,
    body: created,
    tokenValue: TOKEN,
    request: iometeRequest(),
    invalidBody: { name: 'x' },
  },
  revoke: {
    method: 'DELETE',
    path: `${BASE}/tokens/ts-ns-tok-1`,
    ref: { id: 'ts-ns-tok-1', serviceAccount: 'etl-bot' },
  },
});

describe('iomete adapter', () => {
  let agent: MockAgent;
  let d: ReturnType<typeof deps>;
  let client: ProviderClient;
  beforeEach(() => {
    agent = mockAgent();
    d = deps(agent);
    client = createProviderClient(config({ type: 'iomete' }), d);
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('creates the token with X-API-Token and only the documented fields: name, RFC 3339 expiry, maxRps', async () => {
    let body: Record<string, unknown> = {};
    let headers: Record<string, string> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: `${BASE}/tokens` })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        headers = opts.headers as Record<string, string>;
        return { statusCode: 201, data: created };
      });
    const issued = await client.issue(iometeRequest({ attributes: { maxRps: '25' } }));
    expect(headers['X-API-Token']).toBe(MGMT_KEY);
    expect(headers['authorization']).toBeUndefined();
    expect(body).toEqual({ name: 'ts-ns-tok-1', expiresAt: '2030-01-01T01:00:00.000Z', maxRps: 25 });
    expect(issued).toMatchObject({ id: 'ts-ns-tok-1', name: 'ts-ns-tok-1' });
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T01:00:00.000Z');
  });

  it('refuses readOnly, scopes and attributes IOMETE does not document, naming them, without a request', async () => {
    const readOnly = await providerError(client.issue(iometeRequest({ readOnly: true })));
    expect(readOnly.code).toBe('Permanent');
    expect(readOnly.message).toContain('spec.readOnly is not supported by iomete');
    const many = await providerError(
      client.issue(iometeRequest({ scopes: ['read'], attributes: { maxRps: '5', team: 'data' } })),
    );
    expect(many.message).toContain('spec.scopes, spec.attributes.team are not supported by iomete');
    expect(many.message).toContain('maxRps');
    expect(d.seen).toEqual([]);
  });

  it('applies the provider default iomete.maxRps unless the token sets its own', async () => {
    client = createProviderClient(config({ type: 'iomete', iomete: { maxRps: 40 } }), d);
    const bodies: Record<string, unknown>[] = [];
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: `${BASE}/tokens` })
      .reply((opts) => {
        bodies.push(JSON.parse(String(opts.body)));
        return { statusCode: 201, data: created };
      })
      .times(2);
    await client.issue(iometeRequest());
    await client.issue(iometeRequest({ attributes: { maxRps: '7' } }));
    expect(bodies.map((b) => b['maxRps'])).toEqual([40, 7]);
  });

  it('sends no expiresAt when no lifetime is requested, and reports none', async () => {
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: `${BASE}/tokens` })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 201, data: { ...created, expiresAt: null } };
      });
    const issued = await client.issue(iometeRequest({ lifetimeSeconds: undefined }));
    expect(body).toEqual({ name: 'ts-ns-tok-1' });
    expect(issued.expiresAt).toBeUndefined();
  });

  it('uses the domain-level endpoints when iomete.domain is set', async () => {
    client = createProviderClient(config({ type: 'iomete', iomete: { domain: 'analytics eu' } }), d);
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/api/v1/domains/analytics%20eu/auth/service-accounts/etl-bot/tokens' })
      .reply(201, created);
    await expect(client.issue(iometeRequest())).resolves.toMatchObject({ id: 'ts-ns-tok-1' });
  });

  it('a 409 on create (name left over by a crash) is a Conflict the controller can branch on', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: `${BASE}/tokens` })
      .reply(409, { error: 'token_exists', message: 'exists' });
    const error = await providerError(client.issue(iometeRequest()));
    expect(error.code).toBe('Conflict');
    expect(error.statusCode).toBe(409);
    expect(error.retryable).toBe(false);
  });

  it('rejects a maxRps attribute that is not a positive whole number, without calling upstream', async () => {
    for (const maxRps of ['lots', '2.5', '0']) {
      const error = await providerError(client.issue(iometeRequest({ attributes: { maxRps } })));
      expect(error.code).toBe('Permanent');
      expect(error.message).toContain('attributes.maxRps');
    }
    expect(d.seen).toEqual([]);
  });

  it('requires a service account', async () => {
    expect((await providerError(client.issue(iometeRequest({ serviceAccount: undefined })))).code).toBe('Permanent');
  });

  it('revocation: Suspend suspends the token (PATCH status) instead of deleting it; 404 is done', async () => {
    client = createProviderClient(config({ type: 'iomete', iomete: { revocation: 'Suspend' } }), d);
    let body: unknown;
    agent
      .get(ORIGIN)
      .intercept({ method: 'PATCH', path: `${BASE}/tokens/ts-ns-tok-1` })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 200, data: { ...created, token: undefined, status: 'SUSPENDED' } };
      });
    await client.revoke({ id: 'ts-ns-tok-1', name: 'ts-ns-tok-1', serviceAccount: 'etl-bot' });
    expect(body).toEqual({ status: 'SUSPENDED' });
    agent
      .get(ORIGIN)
      .intercept({ method: 'PATCH', path: `${BASE}/tokens/gone` })
      .reply(404, { message: 'token not found' });
    await expect(client.revoke({ id: 'gone', serviceAccount: 'etl-bot' })).resolves.toBeUndefined();
  });

  it('declares what it takes in its capabilities', () => {
    expect(client.capabilities).toEqual({
      mode: 'mint',
      revoke: true,
      lookupByName: true,
      list: true,
      expiry: 'optional',
      accepts: { readOnly: false, scopes: false, attributes: ['maxRps'] },
    });
  });

  it('looks a token up by name in the list (IOMETE documents no GET by name)', async () => {
    const { token: _t, ...listed } = created;
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: `${BASE}/tokens` })
      .reply(200, [listed, { ...listed, name: 'other', status: 'SUSPENDED' }])
      .times(2);
    expect(await client.lookup({ name: 'ts-ns-tok-1', serviceAccount: 'etl-bot' })).toEqual({
      id: 'ts-ns-tok-1',
      name: 'ts-ns-tok-1',
      active: true,
      expiresAt: new Date('2030-01-01T01:00:00Z'),
    });
    expect(await client.lookup({ name: 'missing', serviceAccount: 'etl-bot' })).toBeUndefined();
  });

  it('lookup on an unknown service account (404) finds nothing', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: `${BASE}/tokens` })
      .reply(404, {});
    expect(await client.lookup({ name: 'x', serviceAccount: 'etl-bot' })).toBeUndefined();
  });

  it('lists tokens and marks suspended and expired ones inactive', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: `${BASE}/tokens` })
      .reply(200, [
        { name: 'a', expiresAt: null, status: 'ACTIVE' },
        { name: 'b', expiresAt: null, status: 'SUSPENDED' },
        { name: 'c', expiresAt: '2029-12-31T00:00:00Z', status: 'ACTIVE' },
      ]);
    const tokens = await client.list('etl-bot');
    expect(tokens.map((t) => [t.name, t.active])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
    ]);
  });

  it('check lists a well-known account: 404 (no such account) is healthy, 401 is not', async () => {
    const path = '/api/v1/auth/service-accounts/tokensync-healthcheck/tokens';
    agent.get(ORIGIN).intercept({ method: 'GET', path }).reply(404, {});
    await expect(client.check()).resolves.toBeUndefined();
    agent.get(ORIGIN).intercept({ method: 'GET', path }).reply(401, { message: 'invalid token' });
    expect((await providerError(client.check())).code).toBe('Permanent');
  });

  it('check accepts the same-group 403 (the credential authenticated)', async () => {
    const path = '/api/v1/auth/service-accounts/tokensync-healthcheck/tokens';
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path })
      .reply(403, { message: 'You must be in the same group as this service account' });
    await expect(client.check()).resolves.toBeUndefined();
  });

  it('refuses plain http:// unless allowInsecureHttp', () => {
    expect(() => createProviderClient(config({ type: 'iomete', url: 'http://127.0.0.1:1' }), d)).toThrow(
      /allowInsecureHttp/,
    );
    expect(() =>
      createProviderClient(config({ type: 'iomete', url: 'http://127.0.0.1:1', allowInsecureHttp: true }), d),
    ).not.toThrow();
  });

  it('waits for the shared limiter before every request', async () => {
    const order: string[] = [];
    const limited = createProviderClient(config({ type: 'iomete' }), {
      ...d,
      limiter: {
        acquire: async () => {
          order.push('acquire');
        },
      },
      onRequest: () => order.push('request'),
    });
    agent
      .get(ORIGIN)
      .intercept({ method: 'DELETE', path: `${BASE}/tokens/a` })
      .reply(204);
    await limited.revoke({ id: 'a', serviceAccount: 'etl-bot' });
    expect(order).toEqual(['acquire', 'request']);
  });
});
