import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { ProviderClient, ResolvedProviderConfig } from '../../../src/providers/types.ts';
import { LOOPBACK_EGRESS } from '../../support/egress.ts';
import { type CustomerioStandIn, startCustomerioStandIn } from '../../support/stand-ins/customerio.ts';
import { type IometeStandIn, startIometeStandIn } from '../../support/stand-ins/iomete.ts';
import { type RillStandIn, startRillStandIn } from '../../support/stand-ins/rill.ts';
import { expectNoLeak, issueRequest, providerError } from './helpers.ts';

/**
 * Each adapter against a loopback stand-in written from the vendor's documentation (test/support/stand-ins),
 * over real HTTP: what the vendor receives, and what it is asked to do, per operation.
 */

const loopback = (url: string, credential: string, extra: Partial<ResolvedProviderConfig>): ResolvedProviderConfig =>
  ({
    url,
    credential: new SecretValue(credential),
    allowInsecureHttp: true,
    rateLimit: { requestsPerSecond: 1000, burst: 1000 },
    timeoutMs: 5000,
    ...extra,
  }) as ResolvedProviderConfig;

describe('iomete adapter against an IOMETE stand-in', () => {
  let iomete: IometeStandIn;
  let client: ProviderClient;
  const request = (name: string, extra: Parameters<typeof issueRequest>[0] = {}) =>
    issueRequest({ serviceAccount: 'etl-bot', name, scopes: [], ...extra });
  beforeAll(async () => {
    iomete = await startIometeStandIn({ sharedGroup: ['etl-bot'] });
    client = createProviderClient(loopback(iomete.url, iomete.apiKey, { type: 'iomete' }), { egress: LOOPBACK_EGRESS });
  });
  afterAll(async () => {
    await client.close?.();
    await iomete.close();
  });

  it('check passes on the same-group 403 of the health-check account, and fails on a wrong key', async () => {
    await expect(client.check()).resolves.toBeUndefined();
    const wrong = createProviderClient(loopback(iomete.url, 'not-the-key-0123', { type: 'iomete' }), {
      egress: LOOPBACK_EGRESS,
    });
    expect((await providerError(wrong.check())).statusCode).toBe(401);
    await wrong.close?.();
  });

  it('a token is created with its documented fields only (the stand-in refuses any other)', async () => {
    const issued = await client.issue(request('etl-r1', { attributes: { maxRps: '12' } }));
    expect(issued.id).toBe('etl-r1');
    expect(iomete.tokens.get('etl-bot')?.find((t) => t.name === 'etl-r1')).toMatchObject({
      status: 'ACTIVE',
      maxRps: 12,
      expiresAt: issued.expiresAt!.toISOString(),
    });
    expect(await client.lookup({ name: 'etl-r1', serviceAccount: 'etl-bot' })).toMatchObject({ active: true });
  });

  it('readOnly is refused by the adapter before IOMETE sees anything', async () => {
    const before = iomete.requests.length;
    expect((await providerError(client.issue(request('etl-ro', { readOnly: true })))).code).toBe('Permanent');
    expect(iomete.requests.length).toBe(before);
  });

  it('revocation: Delete removes the token; a second revoke finds nothing and succeeds', async () => {
    await client.issue(request('etl-r2'));
    await client.revoke({ id: 'etl-r2', name: 'etl-r2', serviceAccount: 'etl-bot' });
    expect(await client.lookup({ name: 'etl-r2', serviceAccount: 'etl-bot' })).toBeUndefined();
    await expect(client.revoke({ id: 'etl-r2', serviceAccount: 'etl-bot' })).resolves.toBeUndefined();
  });

  it('revocation: Suspend keeps the token listed, suspended', async () => {
    const suspending = createProviderClient(
      loopback(iomete.url, iomete.apiKey, { type: 'iomete', iomete: { revocation: 'Suspend' } }),
      { egress: LOOPBACK_EGRESS },
    );
    await suspending.issue(request('etl-r3'));
    await suspending.revoke({ id: 'etl-r3', name: 'etl-r3', serviceAccount: 'etl-bot' });
    expect(iomete.tokens.get('etl-bot')?.find((t) => t.name === 'etl-r3')?.status).toBe('SUSPENDED');
    expect(await suspending.lookup({ name: 'etl-r3', serviceAccount: 'etl-bot' })).toMatchObject({ active: false });
    await suspending.close?.();
  });

  it('an account the key shares no group with is Permanent, with IOMETE’s own words', async () => {
    const error = await providerError(client.issue(request('x-r1', { serviceAccount: 'finance-bot' })));
    expect(error.code).toBe('Permanent');
    expect(error.message).toContain('You must be in the same group as this service account');
  });
});

describe('rill adapter against a Rill stand-in', () => {
  let rill: RillStandIn;
  let client: ProviderClient;
  const request = (extra: Parameters<typeof issueRequest>[0] = {}) =>
    issueRequest({ serviceAccount: 'etl-bot', scopes: [], lifetimeSeconds: undefined, ...extra });
  beforeAll(async () => {
    rill = await startRillStandIn();
    client = createProviderClient(loopback(rill.url, rill.credential, { type: 'rill', rill: { org: 'acme' } }), {
      egress: LOOPBACK_EGRESS,
    });
  });
  afterAll(async () => {
    await client.close?.();
    await rill.close();
  });

  it('each issued token gets the id Rill lists for it, even when several are minted at once', async () => {
    const issued = await Promise.all([client.issue(request()), client.issue(request()), client.issue(request())]);
    for (const token of issued) {
      expect(rill.tokens.find((t) => t.id === token.id)?.value).toBe(token.value.reveal());
    }
    expect((await client.list('etl-bot')).map((t) => t.id).sort()).toEqual(issued.map((t) => t.id).sort());
  });

  it('revoking the same token twice (as a finalizer retried after a crash would) sends one DELETE', async () => {
    const issued = await client.issue(request({ lifetimeSeconds: 120 }));
    await client.revoke({ id: issued.id, serviceAccount: 'etl-bot' });
    await client.revoke({ id: issued.id, serviceAccount: 'etl-bot' });
    expect(rill.deletes.get(issued.id)).toBe(1);
    expect(rill.tokens.some((t) => t.id === issued.id)).toBe(false);
  });

  it('a wrong id is never reported as revoked while the real token stays live', async () => {
    const issued = await client.issue(request());
    await client.revoke({ id: '00000000-0000-0000-0000-000000000000', serviceAccount: 'etl-bot' });
    expect(rill.tokens.some((t) => t.id === issued.id)).toBe(true);
    expect(rill.deletes.has('00000000-0000-0000-0000-000000000000')).toBe(false);
  });

  it('ephemeral credentials: the JWT comes with the runtime host and instance id for templates', async () => {
    const ephemeral = createProviderClient(
      loopback(rill.url, rill.credential, { type: 'rill', rill: { org: 'acme', mode: 'ephemeral', project: 'sales' } }),
      { egress: LOOPBACK_EGRESS },
    );
    const issued = await ephemeral.issue(
      issueRequest({ scopes: [], lifetimeSeconds: 900, attributes: { email: 'viewer@example.com' } }),
    );
    expect(issued.templateData).toEqual({ runtimeHost: rill.runtimeHost, instanceId: rill.instanceId });
    await ephemeral.check();
    await ephemeral.close?.();
  });

  it('a rejected credential keeps Rill’s words ("auth token is invalid") and not the credential', async () => {
    const wrong = createProviderClient(
      loopback(rill.url, 'rill_svc_wrongwrongwrong0123', { type: 'rill', rill: { org: 'acme' } }),
      { egress: LOOPBACK_EGRESS },
    );
    const error = await providerError(wrong.check());
    expect(error.message).toBe(
      'rill check: HTTP 401: auth token is invalid (check the management credential and its permissions)',
    );
    expectNoLeak(error, 'rill_svc_wrongwrongwrong0123', rill.credential);
    await wrong.close?.();
  });
});

describe('customerio adapter against a Customer.io stand-in', () => {
  let cio: CustomerioStandIn;
  let client: ProviderClient;
  beforeAll(async () => {
    cio = await startCustomerioStandIn({ sessionSeconds: 900 });
    client = createProviderClient(
      loopback(cio.url, cio.serviceAccountToken, { type: 'customerio', customerio: { region: 'eu' } }),
      { egress: LOOPBACK_EGRESS },
    );
  });
  afterAll(async () => {
    await client.close?.();
    await cio.close();
  });

  it('readiness checks open no session; each issue opens exactly one', async () => {
    for (let i = 0; i < 5; i++) await client.check();
    expect(cio.exchanges).toBe(0);
    const issued = await client.issue(issueRequest({ scopes: [], readOnly: true, lifetimeSeconds: 168 * 3600 }));
    expect(cio.exchanges).toBe(1);
    expect(issued.templateData).toEqual({ region: 'eu', apiURL: cio.url });
  });

  it('a revoked service-account token shows in the next check, without a new exchange', async () => {
    cio.revoked = true;
    const failed = await providerError(client.issue(issueRequest({ scopes: [] })));
    expect(failed.statusCode).toBe(401);
    const exchanges = cio.exchanges;
    const check = await providerError(client.check());
    expect(check.message).toContain('the service account token is invalid or revoked');
    expectNoLeak(check, cio.serviceAccountToken);
    expect(cio.exchanges).toBe(exchanges);
    cio.revoked = false;
  });
});
