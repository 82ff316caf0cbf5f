import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCustomerioProvider } from '../../../src/providers/customerio/index.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { ProviderClient } from '../../../src/providers/types.ts';
import { describeHttpContract } from './contract.ts';
import { config, deps, expectNoLeak, issueRequest, mockAgent, ORIGIN, providerError } from './helpers.ts';

const SA_TOKEN = 'sa_live_0123456789abcdefABCDEF0123456789';
const ACCESS = 'cio_at_5e8d2f1a9c4b7e6d3a0f8b2c5d9e1f4a7b3c6d0e';
const PATH = '/v1/service_accounts/oauth/token';
const cioConfig = config({ type: 'customerio', credential: new SecretValue(SA_TOKEN), customerio: { region: 'us' } });

describeHttpContract({
  label: 'customerio',
  config: cioConfig,
  make: (c, d) => createCustomerioProvider(c, d),
  issue: {
    method: 'POST',
    path: PATH,
    status: 200,
    body: { access_token: ACCESS, token_type: 'Bearer', expires_in: 3600 },
    tokenValue: ACCESS,
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
    client = createCustomerioProvider(cioConfig, d);
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
    const issued = await client.issue(issueRequest());
    expect(contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'client_credentials', client_secret: SA_TOKEN });
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T00:15:00.000Z');
    expect(issued.id).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(client.capabilities).toEqual({
      mode: 'exchange',
      revoke: false,
      lookupByName: false,
      list: false,
      expiry: 'always',
    });
  });

  it('asks for scope=read_only when read-only and accepts a grant that has it', async () => {
    let form = new URLSearchParams();
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 60, scope: 'read_only' }, (f) => {
      form = f;
    });
    await client.issue(issueRequest({ readOnly: true }));
    expect(form.get('scope')).toBe('read_only');
  });

  it('refuses a write-capable grant when read-only was requested', async () => {
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 60, scope: 'full' });
    const error = await providerError(client.issue(issueRequest({ readOnly: true })));
    expect(error.code).toBe('Permanent');
    expect(error.message).toMatch(/read-only/);
    expectNoLeak(error, ACCESS, SA_TOKEN);
  });

  it('an OAuth error (invalid_client) is Permanent with its description and without the sa_live_ token', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: PATH })
      .reply(400, { error: 'invalid_client', error_description: `client_secret ${SA_TOKEN} is revoked` });
    const error = await providerError(client.issue(issueRequest()));
    expect(error.code).toBe('Permanent');
    expect(error.message).toContain('is revoked');
    expectNoLeak(error, SA_TOKEN);
  });

  it('lookup is always undefined and list Unsupported, without requests', async () => {
    expect(await client.lookup({ name: 'x' })).toBeUndefined();
    expect((await providerError(client.list(undefined))).code).toBe('Unsupported');
    expect(d.seen).toEqual([]);
  });

  it('check performs a read-only exchange', async () => {
    let form = new URLSearchParams();
    exchange({ access_token: ACCESS, token_type: 'Bearer', expires_in: 60, scope: 'read_only' }, (f) => {
      form = f;
    });
    await client.check();
    expect(form.get('scope')).toBe('read_only');
    expect(d.seen).toEqual([{ operation: 'check', statusCode: 200 }]);
  });
});
