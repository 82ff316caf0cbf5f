import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCredentialsApi, startCredentialsApi } from '../../../src/credentials-api/index.ts';
import { TokenBucket } from '../../../src/providers/rate-limiter.ts';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { ProviderClient, ProviderDeps, ResolvedProviderConfig } from '../../../src/providers/types.ts';
import { LOOPBACK_EGRESS } from '../../support/egress.ts';
import { expectNoLeak, issueRequest, providerError } from './helpers.ts';

/**
 * End to end against the bundled reference credentials API, in-process on loopback: the reference adapter and
 * the iomete adapter (admin-level and domain-level endpoints) mint, find, list, conflict on and revoke real tokens,
 * and the minted values really authenticate (POST /introspect).
 */

let api: RunningCredentialsApi;

const providerConfig = (
  type: 'reference' | 'iomete',
  extra: Partial<ResolvedProviderConfig> = {},
): ResolvedProviderConfig => ({
  type,
  url: api.url,
  credential: new SecretValue(api.adminKey),
  allowInsecureHttp: true,
  rateLimit: { requestsPerSecond: 1000, burst: 1000 },
  timeoutMs: 5000,
  ...extra,
});

async function introspect(value: string): Promise<{ active: boolean; name?: string; readOnly?: boolean }> {
  const res = await fetch(`${api.url}/introspect`, { method: 'POST', headers: { authorization: `Bearer ${value}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { active: boolean };
}

beforeAll(async () => {
  api = await startCredentialsApi({ port: 0, rateLimit: false });
});
afterAll(async () => {
  await api.close();
});

const variants = [
  { label: 'reference', type: 'reference' as const, extra: {} },
  { label: 'iomete (admin-level)', type: 'iomete' as const, extra: {} },
  { label: 'iomete (domain-level)', type: 'iomete' as const, extra: { iomete: { domain: 'analytics' } } },
];

describe.each(variants)('$label adapter against the reference server', ({ type, extra, label }) => {
  let client: ProviderClient;
  const requests: string[] = [];
  const deps: ProviderDeps = {
    egress: LOOPBACK_EGRESS,
    onRequest: (e) => requests.push(`${e.operation}:${e.statusCode}`),
  };
  const sa = `sa-${label.replace(/\W+/g, '-')}`;

  beforeAll(() => {
    client = createProviderClient(providerConfig(type, extra), deps);
  });
  afterAll(async () => {
    await client.close?.();
  });

  it('check passes with the admin key', async () => {
    await expect(client.check()).resolves.toBeUndefined();
  });

  // IOMETE documents no read-only flag and no scopes: only the reference adapter sends them.
  const readOnly = type === 'reference';
  const scopes = type === 'reference' ? ['read'] : [];

  it('mint → the value authenticates → lookup/list see it → same name conflicts → revoke → gone', async () => {
    const request = issueRequest({ serviceAccount: sa, name: 'tok-a', lifetimeSeconds: 3600, readOnly, scopes });
    const issued = await client.issue(request);
    expect(issued.id).toBe('tok-a');
    expect(issued.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(await introspect(issued.value.reveal())).toMatchObject({ active: true, name: 'tok-a', readOnly });

    expect(await client.lookup({ name: 'tok-a', serviceAccount: sa })).toMatchObject({ id: 'tok-a', active: true });
    expect((await client.list(sa)).map((t) => t.name)).toContain('tok-a');

    const conflict = await providerError(client.issue(request));
    expect(conflict.code).toBe('Conflict');
    expectNoLeak(conflict, issued.value.reveal(), api.adminKey);

    await client.revoke({ id: issued.id, name: issued.name, serviceAccount: sa });
    expect((await introspect(issued.value.reveal())).active).toBe(false);
    expect(await client.lookup({ name: 'tok-a', serviceAccount: sa })).toBeUndefined();
    // Revoking again is a no-op success (404 upstream).
    await expect(client.revoke({ id: issued.id, serviceAccount: sa })).resolves.toBeUndefined();
    // And the name is free again.
    const again = await client.issue(request);
    await client.revoke({ id: again.id, serviceAccount: sa });
  });

  it('tokens without a lifetime never expire; maxRps (and for reference the owner description) reach the server', async () => {
    const issued = await client.issue(
      issueRequest({
        serviceAccount: sa,
        name: 'tok-b',
        lifetimeSeconds: undefined,
        scopes,
        attributes: { maxRps: '3' },
      }),
    );
    expect(issued.expiresAt).toBeUndefined();
    const base =
      type === 'iomete' && 'iomete' in extra
        ? `/api/v1/domains/analytics/auth/service-accounts/${sa}`
        : `/api/v1/auth/service-accounts/${sa}`;
    const res = await fetch(`${api.url}${base}/tokens/tok-b`, { headers: { authorization: `Bearer ${api.adminKey}` } });
    expect(await res.json()).toMatchObject({
      maxRps: 3,
      description: type === 'reference' ? 'tokensync team-a/etl uid=uid-123' : null,
      expiresAt: null,
    });
    await client.revoke({ id: issued.id, serviceAccount: sa });
  });

  it('revocation: Suspend leaves the token listed but inactive, and the value stops working', async () => {
    const settings = { ...((extra as { iomete?: object }).iomete ?? {}), revocation: 'Suspend' as const };
    const suspending = createProviderClient(providerConfig(type, { ...extra, [type]: settings }), {
      egress: LOOPBACK_EGRESS,
    });
    const issued = await suspending.issue(issueRequest({ serviceAccount: sa, name: 'tok-s', scopes }));
    await suspending.revoke({ id: issued.id, name: issued.name, serviceAccount: sa });
    expect((await introspect(issued.value.reveal())).active).toBe(false);
    expect(await suspending.lookup({ name: 'tok-s', serviceAccount: sa })).toMatchObject({ active: false });
    await suspending.revoke({ id: issued.id, name: issued.name, serviceAccount: sa }); // again: still fine
    await client.revoke({ id: issued.id, serviceAccount: sa });
    await suspending.close?.();
  });

  it('lookup and list in an unknown service account find nothing', async () => {
    expect(await client.lookup({ name: 'x', serviceAccount: 'never-created' })).toBeUndefined();
    expect(await client.list('never-created')).toEqual([]);
  });

  it('a wrong management key fails Permanent (401) and the message holds no key', async () => {
    const bad = createProviderClient(
      providerConfig(type, { ...extra, credential: new SecretValue('wrong_key_0123456789abcdef') }),
      { egress: LOOPBACK_EGRESS },
    );
    const error = await providerError(bad.issue(issueRequest({ serviceAccount: sa, name: 'tok-c', scopes })));
    expect(error.code).toBe('Permanent');
    expect(error.statusCode).toBe(401);
    expectNoLeak(error, 'wrong_key_0123456789abcdef', api.adminKey);
    await bad.close?.();
  });

  it('reported every upstream request to onRequest', () => {
    expect(requests.length).toBeGreaterThan(5);
    expect(requests).toContain('issue:201');
  });
});

describe('rate limits against the reference server', () => {
  it("the server's 429 surfaces as RateLimited with its Retry-After", async () => {
    const limited = await startCredentialsApi({ port: 0, rateLimit: { requestsPerSecond: 0.5, burst: 1 } });
    try {
      const client = createProviderClient(
        { ...providerConfig('reference'), url: limited.url, credential: new SecretValue(limited.adminKey) },
        { egress: LOOPBACK_EGRESS },
      );
      await client.list('sa-x').catch(() => undefined);
      const error = await providerError(client.list('sa-x'));
      expect(error.code).toBe('RateLimited');
      expect(error.retryAfterMs).toBeGreaterThan(0);
      await client.close?.();
    } finally {
      await limited.close();
    }
  });

  it('the shared client-side TokenBucket keeps calls within burst + rate·t', async () => {
    const bucket = new TokenBucket({ requestsPerSecond: 20, burst: 2 });
    const stamps: number[] = [];
    const client = createProviderClient(providerConfig('reference'), {
      egress: LOOPBACK_EGRESS,
      limiter: bucket,
      onRequest: () => stamps.push(performance.now()),
    });
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, () => client.lookup({ name: 'n', serviceAccount: 'sa-bucket' })));
    const elapsed = (performance.now() - started) / 1000;
    expect(stamps).toHaveLength(8);
    expect(8).toBeLessThanOrEqual(2 + 20 * elapsed + 1e-9);
    expect(elapsed).toBeGreaterThanOrEqual(0.29); // (8 - 2) / 20 s, minus timer slack
    await client.close?.();
  });
});
