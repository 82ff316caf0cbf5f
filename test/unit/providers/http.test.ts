import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpConfig } from '../../../src/api/v1alpha1/providers/http.ts';
import { renderPath } from '../../../src/providers/http/index.ts';
import { parsePointer, resolvePointer } from '../../../src/providers/http/json-pointer.ts';
import { renderJsonTemplate, TemplateError } from '../../../src/providers/http/template.ts';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { ProviderClient, ResolvedProviderConfig } from '../../../src/providers/types.ts';
import { describeHttpContract } from './contract.ts';
import { config, deps, issueRequest, MGMT_KEY, mockAgent, ORIGIN, providerError } from './helpers.ts';

const TOKEN = 'generic_tok_8b1f3c5e7a9d2b4f6c8e0a1d3f5b7c9e';
const httpSpec: NonNullable<ResolvedProviderConfig['http']> = {
  issue: {
    method: 'POST',
    path: '/accounts/{serviceAccount}/keys',
    body: '{"label": "{{ .tokenName }}", "ttl": {{ .lifetimeSeconds }}, "ro": {{ .readOnly }}, "scopes": {{ .scopes }}, "note": "sa={{ .serviceAccount }}"}',
  },
  revoke: { method: 'DELETE', path: '/accounts/{serviceAccount}/keys/{tokenId}' },
  lookup: { method: 'GET', path: '/accounts/{serviceAccount}/keys/by-name/{tokenName}' },
  valuePointer: '/data/secret',
  idPointer: '/data/id',
  expiresAtPointer: '/data/expires',
};
const httpConfig = config({ type: 'http', http: httpSpec });

describeHttpContract({
  label: 'http',
  config: httpConfig,
  make: (c, d) => createProviderClient(c, d),
  issue: {
    method: 'POST',
    path: '/accounts/etl-bot/keys',
    status: 201,
    body: { data: { secret: TOKEN, id: 'k-1', expires: '2030-01-01T01:00:00Z' } },
    tokenValue: TOKEN,
    invalidBody: { data: { id: 'k-1' } },
  },
  revoke: { method: 'DELETE', path: '/accounts/etl-bot/keys/k-1', ref: { id: 'k-1', serviceAccount: 'etl-bot' } },
});

describe('generic http adapter', () => {
  let agent: MockAgent;
  let d: ReturnType<typeof deps>;
  let client: ProviderClient;
  beforeEach(() => {
    agent = mockAgent();
    d = deps(agent);
    client = createProviderClient(httpConfig, d);
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('renders the body template with JSON-encoded values and reads value/id/expiry through pointers', async () => {
    let body: unknown;
    let auth: string | undefined;
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/accounts/etl-bot/keys' })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        auth = (opts.headers as Record<string, string>)['authorization'];
        return { statusCode: 201, data: { data: { secret: TOKEN, id: 7, expires: 1893459600 } } };
      });
    const issued = await client.issue(issueRequest({ scopes: ['read', 'write'], readOnly: true }));
    expect(auth).toBe(`Bearer ${MGMT_KEY}`);
    expect(body).toEqual({ label: 'ts-ns-tok-1', ttl: 3600, ro: true, scopes: ['read', 'write'], note: 'sa=etl-bot' });
    expect(issued.id).toBe('7');
    expect(issued.expiresAt?.toISOString()).toBe('2030-01-01T01:00:00.000Z');
  });

  it('a hostile token name cannot inject JSON fields or break out of a string', async () => {
    let body: Record<string, unknown> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/accounts/a%2F..%2Fadmin/keys' })
      .reply((opts) => {
        body = JSON.parse(String(opts.body));
        return { statusCode: 201, data: { data: { secret: TOKEN, id: 'k' } } };
      });
    const evil = 'x", "admin": true, "y": "';
    await client.issue(issueRequest({ name: evil, serviceAccount: 'a/../admin' }));
    expect(body['label']).toBe(evil);
    expect(body).not.toHaveProperty('admin');
  });

  it('lookup: 200 → info via pointers, 404 → undefined', async () => {
    const path = '/accounts/etl-bot/keys/by-name/ts-ns-tok-1';
    agent
      .get(ORIGIN)
      .intercept({ method: 'GET', path })
      .reply(200, { data: { id: 'k-1', expires: '2030-01-01T01:00:00Z' } });
    expect(await client.lookup({ name: 'ts-ns-tok-1', serviceAccount: 'etl-bot' })).toEqual({
      id: 'k-1',
      name: 'ts-ns-tok-1',
      active: true,
      expiresAt: new Date('2030-01-01T01:00:00Z'),
    });
    agent.get(ORIGIN).intercept({ method: 'GET', path }).reply(404, {});
    expect(await client.lookup({ name: 'ts-ns-tok-1', serviceAccount: 'etl-bot' })).toBeUndefined();
  });

  it('hands an empty value to the controller (whose value check refuses and revokes it), with its id', async () => {
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/accounts/etl-bot/keys' })
      .reply(201, { data: { secret: '', id: 'k-9' } });
    const issued = await client.issue(issueRequest());
    expect(issued.id).toBe('k-9');
    expect(issued.value.reveal()).toBe('');
  });

  it('409 on issue is a Conflict', async () => {
    agent.get(ORIGIN).intercept({ method: 'POST', path: '/accounts/etl-bot/keys' }).reply(409, {});
    expect((await providerError(client.issue(issueRequest()))).code).toBe('Conflict');
  });

  it('capabilities follow the configured endpoints', () => {
    expect(client.capabilities).toEqual({
      mode: 'mint',
      revoke: true,
      lookupByName: true,
      list: false,
      expiry: 'optional',
      accepts: { readOnly: true, scopes: true, attributes: [] },
    });
    const bare = createProviderClient(
      config({
        type: 'http',
        http: { issue: { method: 'POST', path: '/t' }, valuePointer: '/token', idPointer: '/id' },
      }),
      d,
    );
    expect(bare.capabilities).toMatchObject({ revoke: false, lookupByName: false, expiry: 'never' });
  });

  it('without a revoke endpoint revoke is Unsupported', async () => {
    const bare = createProviderClient(
      config({
        type: 'http',
        http: { issue: { method: 'POST', path: '/t' }, valuePointer: '/token', idPointer: '/id' },
      }),
      d,
    );
    expect((await providerError(bare.revoke({ id: 'x' }))).code).toBe('Unsupported');
  });

  it('rejects bad templates, placeholders and pointers when the provider is built', () => {
    const make = (http: Partial<NonNullable<ResolvedProviderConfig['http']>>) => () =>
      createProviderClient(config({ type: 'http', http: { ...httpSpec, ...http } }), d);
    expect(make({ issue: { method: 'POST', path: '/t', body: '{"a": {{ .password }}}' } })).toThrow(
      /unknown placeholder/,
    );
    expect(make({ issue: { method: 'POST', path: '/t', body: '{"a": ' } })).toThrow(/valid JSON/);
    expect(make({ issue: { method: 'POST', path: '/t/{secret}' } })).toThrow(/unknown path placeholder/);
    expect(make({ valuePointer: 'token' })).toThrow(/JSON pointer/);
  });

  it('refuses a readOnly or scopes the issue body does not send, and any attribute, before calling', async () => {
    const bare = createProviderClient(
      config({ type: 'http', http: { issue: { method: 'POST', path: '/t', body: '{"name": {{ .tokenName }}}' } } }),
      d,
    );
    const error = await providerError(bare.issue(issueRequest({ readOnly: true, scopes: ['a'] })));
    expect(error.code).toBe('Permanent');
    expect(error.message).toContain('spec.readOnly, spec.scopes are not supported by http');
    const attributes = await providerError(client.issue(issueRequest({ attributes: { tier: 'gold' } })));
    expect(attributes.message).toContain('spec.attributes.tier');
    expect(d.seen).toEqual([]);
  });

  it('reports no expiry when the issue body does not send a lifetime and no expiry comes back', async () => {
    const bare = createProviderClient(
      config({ type: 'http', http: { issue: { method: 'POST', path: '/t' }, valuePointer: '/token' } }),
      d,
    );
    agent.get(ORIGIN).intercept({ method: 'POST', path: '/t' }).reply(201, { token: TOKEN, id: 'k' });
    const issued = await bare.issue(issueRequest({ scopes: [], lifetimeSeconds: 600 }));
    expect(issued.expiresAt).toBeUndefined();
    expect(issued.id).toBe('k');
  });

  it('check uses the lookup endpoint: 404 is healthy, 401 is not', async () => {
    const path = '/accounts/tokensync-healthcheck/keys/by-name/tokensync-healthcheck';
    agent.get(ORIGIN).intercept({ method: 'GET', path }).reply(404, {});
    await client.check();
    agent.get(ORIGIN).intercept({ method: 'GET', path }).reply(401, {});
    expect((await providerError(client.check())).statusCode).toBe(401);
  });
});

describe('generic http: how the management credential is sent', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = mockAgent();
  });
  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });
  const headersOf = async (credential: HttpConfig['credential'], secret = MGMT_KEY) => {
    const client = createProviderClient(
      config({
        type: 'http',
        credential: new SecretValue(secret),
        http: { issue: { method: 'POST', path: '/t' }, ...(credential ? { credential } : {}) },
      }),
      deps(agent),
    );
    let headers: Record<string, string> = {};
    agent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/t' })
      .reply((opts) => {
        headers = opts.headers as Record<string, string>;
        return { statusCode: 201, data: { token: TOKEN, id: 'k' } };
      });
    await client.issue(issueRequest({ scopes: [] }));
    return headers;
  };

  it('defaults to Authorization: Bearer', async () => {
    expect((await headersOf(undefined))['authorization']).toBe(`Bearer ${MGMT_KEY}`);
  });

  it('a named header carries the bare credential (X-API-Token style), or with a prefix', async () => {
    const bare = await headersOf({ header: 'X-API-Token' });
    expect(bare['x-api-token']).toBe(MGMT_KEY);
    expect(bare['authorization']).toBeUndefined();
    expect((await headersOf({ header: 'Authorization', prefix: 'Token ' }))['authorization']).toBe(`Token ${MGMT_KEY}`);
    expect((await headersOf({ prefix: '' }))['authorization']).toBe(MGMT_KEY);
  });

  it('basic auth: the credential is the password of the given user, or holds user:password', async () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    expect((await headersOf({ basic: { username: 'tokensync' } }))['authorization']).toBe(basic('tokensync', MGMT_KEY));
    expect((await headersOf({ basic: {} }, 'svc:pa:ss'))['authorization']).toBe(basic('svc', 'pa:ss'));
  });

  it('refuses reserved headers, basic mixed with header/prefix, and a basic credential without a user', () => {
    const make =
      (credential: HttpConfig['credential'], secret = MGMT_KEY) =>
      () =>
        createProviderClient(
          config({
            type: 'http',
            credential: new SecretValue(secret),
            http: { issue: { method: 'POST', path: '/t' }, ...(credential ? { credential } : {}) },
          }),
          deps(agent),
        );
    expect(make({ header: 'Content-Type' })).toThrow(/reserved/);
    expect(make({ basic: { username: 'u' }, header: 'X-Key' })).toThrow(/cannot be combined/);
    expect(make({ basic: {} }, 'no-colon-here')).toThrow(/username:password/);
    expect(make({ header: 'bad header' })).toThrow(/spec\.http\.credential\.header/);
    expect(make({ prefix: 'Bearer\r\nX-Evil: 1 ' })).toThrow(/spec\.http\.credential\.prefix/);
  });
});

describe('body templates', () => {
  const values = {
    serviceAccount: 'sa',
    tokenName: 'n',
    lifetimeSeconds: undefined,
    readOnly: false,
    scopes: ['a', 'b'],
  };
  it('encodes unset values as null outside strings and empty inside', () => {
    expect(renderJsonTemplate('{"t": {{ .lifetimeSeconds }}, "s": "x{{.lifetimeSeconds}}y"}', values)).toEqual({
      t: null,
      s: 'xy',
    });
  });
  it('space-joins arrays inside strings', () => {
    expect(renderJsonTemplate('{"scope": "{{ .scopes }}"}', values)).toEqual({ scope: 'a b' });
  });
  it('escapes quotes and backslashes inside strings', () => {
    expect(renderJsonTemplate('{"n": "{{ .tokenName }}"}', { ...values, tokenName: 'a"\\b' })).toEqual({ n: 'a"\\b' });
  });
  it('ignores braces in escaped quotes of literals', () => {
    expect(renderJsonTemplate('{"n": "\\"{{ .tokenName }}"}', values)).toEqual({ n: '"n' });
  });
  it('throws TemplateError on malformed placeholders', () => {
    expect(() => renderJsonTemplate('{"n": {{ tokenName }}}', values)).toThrow(TemplateError);
  });
});

describe('paths and JSON pointers', () => {
  it('URL-encodes path placeholders', () => {
    expect(renderPath('/a/{serviceAccount}/{tokenName}', { serviceAccount: 'x y', tokenName: 'a/b?c' })).toBe(
      '/a/x%20y/a%2Fb%3Fc',
    );
  });
  it('resolves RFC 6901 pointers including escapes and array indices', () => {
    const doc = { 'a/b': { 'm~n': [10, 20] }, '': 1 };
    expect(resolvePointer(doc, '')).toBe(doc);
    expect(resolvePointer(doc, '/a~1b/m~0n/1')).toBe(20);
    expect(resolvePointer(doc, '/')).toBe(1);
    expect(resolvePointer(doc, '/a~1b/m~0n/01')).toBeUndefined();
    expect(resolvePointer(doc, '/missing/x')).toBeUndefined();
    expect(() => parsePointer('/a~2')).toThrow();
  });
});
