import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { ProviderClient } from '../../../src/providers/types.ts';
import { describeHttpContract } from './contract.ts';
import { config, deps, expectNoLeak, issueRequest, mockAgent, ORIGIN, providerError } from './helpers.ts';

const SA_TOKEN = 'sa_live_0123456789abcdefABCDEF0123456789';
const ACCESS = 'cio_at_5e8d2f1a9c4b7e6d3a0f8b2c5d9e1f4a7b3c6d0e';
const PATH = '/v1/service_accounts/oauth/token';
const cioConfig = config({ type: 'customerio', credential: new SecretValue(SA_TOKEN), customerio: { region: 'us' } });
/** Customer.io sessions take only the documented read-only flag: no scopes, no attributes. */
const cioRequest = (extra: Parameters<typeof issueRequest>[0] = {}) => issueRequest({ scopes: [], ...extra });

describeHttpContract({
  label: 'customerio',
  config: cioConfig,
  make: (c, d) => createProviderClient(c, d),
  issue: {
    method: 'POST',
    path: PATH,
    status: 200,
    body: { access_token: ACCESS, token_type: 'Bearer', expires_in: 3600 },
    tokenValue: ACCESS,
    request: cioRequest(),
    invalidBody: { token_type: 'Bearer', expires_in: 3600 },
  },
});

describe('customerio adapter', () => {
  let agent: MockAgent;
  let d: ReturnType<typeof deps>;
  let client: ProviderClient;
  beforeEach(() => {
    agent = mockAgent();
    d = deps(agent);
    client = createProviderClient(cioConfig, d);
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  const exchange = (reply: Record<string, unknown>, capture?: (form: URLSearchParams, ct: string) => void) =>
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: PATH })
      .reply((opts) => {
        capture?.(
          new URLSearchParams(String(opts.body)),
          (opts.headers as Record<string, string>)['content-type'] ?? '',
        );
        return { statusCode: 200, data: reply };
      });

  it('exchanges the sa_live_ token form-encoded; expiry = now + expires_in', async () => {
    let form = new URLSearchParams();
    let contentType = '';
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 900 }, (f, ct) => {
      form = f;
      contentType = ct;
    });
    const issued = await client.issue(cioRequest());
    expect(contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'client_credentials', client_secret: SA_TOKEN });
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T00:15:00.000Z');
    expect(issued.id).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(issued.templateData).toEqual({ region: 'us', apiURL: ORIGIN });
    expect(client.capabilities).toEqual({
      mode: 'exchange',
      revoke: false,
      lookupByName: false,
      list: false,
      expiry: 'always',
      accepts: { readOnly: true, scopes: false, attributes: [] },
    });
  });

  it('asks for scope=read_only when read-only and accepts a grant that has it', async () => {
    let form = new URLSearchParams();
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 60, scope: 'read_only' }, (f) => {
      form = f;
    });
    await client.issue(cioRequest({ readOnly: true }));
    expect(form.get('scope')).toBe('read_only');
  });

  it('refuses a write-capable grant when read-only was requested', async () => {
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 60, scope: 'full' });
    const error = await providerError(client.issue(cioRequest({ readOnly: true })));
    expect(error.code).toBe('Permanent');
    expect(error.message).toMatch(/read-only/);
    expectNoLeak(error, ACCESS, SA_TOKEN);
  });

  it('an OAuth error (invalid_client) is Permanent with its description and without the sa_live_ token', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: PATH })
      .reply(400, { error: 'invalid_client', error_description: `client_secret ${SA_TOKEN} is revoked` });
    const error = await providerError(client.issue(cioRequest()));
    expect(error.code).toBe('Permanent');
    expect(error.message).toContain('is revoked');
    expectNoLeak(error, SA_TOKEN);
  });

  it('lookup is always undefined and list Unsupported, without requests', async () => {
    expect(await client.lookup({ name: 'x' })).toBeUndefined();
    expect((await providerError(client.list(undefined))).code).toBe('Unsupported');
    expect(d.seen).toEqual([]);
  });

  it('reports the session expiry Customer.io grants, whatever lifetime was asked (capped)', async () => {
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 900 });
    const issued = await client.issue(cioRequest({ lifetimeSeconds: 168 * 3600 }));
    // The client's clock stands at 2030-01-01T00:00:00Z: 15 minutes granted of the 168 hours asked.
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T00:15:00.000Z');
  });

  it('refuses scopes and attributes, which Customer.io sessions do not take', async () => {
    const error = await providerError(client.issue(issueRequest({ scopes: ['read'] })));
    expect(error.message).toContain('spec.scopes is not supported by customerio');
    expect(d.seen).toEqual([]);
  });

  it('the region selects the API host when spec.url is unset, and templates get region and apiURL', async () => {
    const { url: _url, ...noUrl } = cioConfig;
    for (const [region, host] of [
      ['us', 'https://api.customer.io'],
      ['eu', 'https://api-eu.customer.io'],
    ] as const) {
      const regional = createProviderClient({ ...noUrl, customerio: { region } }, d);
      agent
        .get(host)
        .intercept({ method: 'POST', path: PATH })
        .reply(200, { access_token: ACCESS, token_type: 'Bearer', expires_in: 60 });
      const issued = await regional.issue(cioRequest());
      expect(issued.templateData).toEqual({ region, apiURL: host });
    }
  });

  it('check costs Customer.io nothing: no exchange, only the credential shape', async () => {
    expect((await client.check())?.message).toContain('not exchanged yet');
    expect(d.seen).toEqual([]);
    const wrong = createProviderClient({ ...cioConfig, credential: new SecretValue('sa_live_abc def') }, d);
    const error = await providerError(wrong.check());
    expect(error.code).toBe('Permanent');
    expect(error.message).toContain('sa_live_');
    expectNoLeak(error, 'sa_live_abc def');
    const notCio = createProviderClient({ ...cioConfig, credential: new SecretValue('ghp_0123456789abcdef') }, d);
    expect((await providerError(notCio.check())).code).toBe('Permanent');
  });

  it('check reports a refused exchange until an exchange succeeds; a 429 is not held against the credential', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: PATH })
      .reply(401, { error: 'invalid_client', error_description: 'service account token revoked' });
    await providerError(client.issue(cioRequest()));
    const refused = await providerError(client.check());
    expect(refused.code).toBe('Permanent');
    expect(refused.message).toContain('service account token revoked');
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: PATH })
      .reply(429, {}, { headers: { 'retry-after': '60' } });
    await providerError(client.issue(cioRequest()));
    expect((await providerError(client.check())).statusCode).toBe(401);
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 60 });
    await client.issue(cioRequest());
    expect((await client.check())?.message).toContain('last exchange succeeded');
    agent.get(ORIGIN).intercept({ method: 'POST', path: PATH }).reply(429, {});
    await providerError(client.issue(cioRequest()));
    expect((await client.check())?.message).toContain('last exchange succeeded');
    expect(d.seen.filter((e) => e.operation === 'check')).toEqual([]);
  });
});
