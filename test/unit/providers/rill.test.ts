import { randomBytes, randomUUID } from 'node:crypto';
import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRillTokenId, encodeRillToken } from '../../../src/providers/rill/client.ts';
import { createRillProvider } from '../../../src/providers/rill/index.ts';
import type { ProviderClient } from '../../../src/providers/types.ts';
import { describeHttpContract } from './contract.ts';
import { config, deps, issueRequest, MGMT_KEY, mockAgent, ORIGIN, providerError } from './helpers.ts';

const TOKEN_ID = '3f1e2d4c-5b6a-4798-8a1b-2c3d4e5f6a7b';
const SVC_TOKEN = encodeRillToken('svc', TOKEN_ID, Buffer.alloc(24, 0xab));
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;
const EPHEMERAL = jwt({ exp: Date.parse('2030-01-01T00:30:00Z') / 1000, jti: 'jwt-id-1', sub: 'user@example.com' });

const serviceConfig = config({ type: 'rill', rill: { org: 'acme', mode: 'serviceToken' } });
const ephemeralConfig = config({ type: 'rill', rill: { org: 'acme', mode: 'ephemeral', project: 'sales' } });

describeHttpContract({
  label: 'rill',
  config: serviceConfig,
  make: (c, d) => createRillProvider(c, d),
  issue: {
    method: 'POST',
    path: '/v1/orgs/acme/services/etl-bot/tokens',
    status: 200,
    body: { token: SVC_TOKEN },
    tokenValue: SVC_TOKEN,
    invalidBody: { token: '' },
  },
  revoke: { method: 'DELETE', path: `/v1/services/tokens/${TOKEN_ID}`, ref: { id: TOKEN_ID } },
});

describeHttpContract({
  label: 'rill',
  config: ephemeralConfig,
  make: (c, d) => createRillProvider(c, d),
  issue: {
    method: 'POST',
    path: '/v1/orgs/acme/projects/sales/credentials',
    status: 200,
    body: { access_token: EPHEMERAL, ttl_seconds: 1800 },
    tokenValue: EPHEMERAL,
    invalidBody: { ttl_seconds: 1800 },
  },
});

describe('rill token id decoding (assumption: rill_svc_<base62(uuid ‖ 24-byte secret)>)', () => {
  it('round-trips random ids', () => {
    for (let i = 0; i < 50; i++) {
      const id = randomUUID();
      expect(decodeRillTokenId(encodeRillToken('svc', id, randomBytes(24)))).toBe(id);
    }
  });

  it('decodes ids with leading zero bytes (short base62 payloads are left-padded)', () => {
    const id = '00000000-0000-4000-8000-000000000001';
    expect(decodeRillTokenId(encodeRillToken('svc', id, randomBytes(24)))).toBe(id);
  });

  it('rejects values that are not rill tokens', () => {
    expect(decodeRillTokenId('rill_svc_')).toBeUndefined();
    expect(decodeRillTokenId('rill_svc_abc-def')).toBeUndefined();
    expect(decodeRillTokenId('ghp_abcdef')).toBeUndefined();
    expect(decodeRillTokenId(`rill_svc_${'Z'.repeat(80)}`)).toBeUndefined(); // more than 40 bytes
  });
});

describe('rill adapter', () => {
  let agent: MockAgent;
  let d: ReturnType<typeof deps>;
  let client: ProviderClient;
  beforeEach(() => {
    agent = mockAgent();
    d = deps(agent);
    client = createRillProvider(serviceConfig, d);
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('service tokens: Bearer auth, id decoded from the value, never expire', async () => {
    let auth: string | undefined;
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/v1/orgs/acme/services/etl-bot/tokens' })
      .reply((opts) => {
        auth = (opts.headers as Record<string, string>)['authorization'];
        return { statusCode: 200, data: { token: SVC_TOKEN } };
      });
    const issued = await client.issue(issueRequest());
    expect(auth).toBe(`Bearer ${MGMT_KEY}`);
    expect(issued).toMatchObject({ id: TOKEN_ID, name: 'ts-ns-tok-1' });
    expect(issued.expiresAt).toBeUndefined();
    expect(client.capabilities).toEqual({
      mode: 'mint',
      revoke: true,
      lookupByName: false,
      list: true,
      expiry: 'never',
    });
  });

  it('an issued value whose id cannot be decoded is Malformed (and says it may exist upstream)', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/v1/orgs/acme/services/etl-bot/tokens' })
      .reply(200, { token: 'opaque-token-value-without-id' });
    const error = await providerError(client.issue(issueRequest()));
    expect(error.code).toBe('Malformed');
    expect(error.message).not.toContain('opaque-token-value-without-id');
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
    client = createRillProvider(ephemeralConfig, d);
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/v1/orgs/acme/projects/sales/credentials' })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 200, data: { access_token: EPHEMERAL, ttl_seconds: 600 } };
      });
    const issued = await client.issue(
      issueRequest({ lifetimeSeconds: 600, attributes: { email: 'u@example.com', region: 'us-west' } }),
    );
    expect(body).toEqual({ attributes: { email: 'u@example.com', region: 'us-west' }, ttl_seconds: 600 });
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T00:10:00.000Z');
    expect(issued.id).toBe('jwt-id-1');
    expect(client.capabilities).toMatchObject({ revoke: false, list: false, expiry: 'always' });
  });

  it('ephemeral: email alone is sent as user_email; expiry falls back to the JWT exp claim', async () => {
    client = createRillProvider(ephemeralConfig, d);
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/v1/orgs/acme/projects/sales/credentials' })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 200, data: { accessToken: EPHEMERAL } };
      });
    const issued = await client.issue(
      issueRequest({ lifetimeSeconds: undefined, attributes: { email: 'u@example.com' } }),
    );
    expect(body).toEqual({ user_email: 'u@example.com' });
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T00:30:00.000Z');
  });

  it('ephemeral: check reads the project; list is Unsupported', async () => {
    client = createRillProvider(ephemeralConfig, d);
    agent.get(ORIGIN).intercept({ method: 'GET', path: '/v1/orgs/acme/projects/sales' }).reply(200, {});
    await client.check();
    expect((await providerError(client.list('x'))).code).toBe('Unsupported');
  });

  it('ephemeral mode without a project is a configuration error', () => {
    expect(() => createRillProvider(config({ type: 'rill', rill: { org: 'acme', mode: 'ephemeral' } }), d)).toThrow(
      /project/,
    );
  });
});
