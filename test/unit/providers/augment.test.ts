import { describe, expect, it } from 'vitest';
import { createAugmentProvider } from '../../../src/providers/augment/index.ts';
import { renderSessionJson } from '../../../src/providers/augment/passthrough.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import { config, issueRequest, providerError } from './helpers.ts';

const VALUE = 'aug_sa_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const augConfig = config({
  type: 'augment',
  url: undefined,
  credential: new SecretValue(VALUE),
  augment: { tenantURL: 'https://tenant-7.api.augmentcode.com/' },
});

describe('augment adapter (passthrough)', () => {
  it('passes the credential through with tenantURL and JSON scopes for session.json', async () => {
    const client = createAugmentProvider(augConfig, {});
    const issued = await client.issue(issueRequest({ scopes: [] }));
    expect(issued.value.reveal()).toBe(VALUE);
    expect(issued.expiresAt).toBeUndefined();
    expect(issued.templateData).toEqual({
      tenantURL: 'https://tenant-7.api.augmentcode.com/',
      scopes: '["read","write"]',
    });
    const session = JSON.parse(
      `{"accessToken": ${JSON.stringify(issued.value.reveal())}, "tenantURL": ${JSON.stringify(issued.templateData!['tenantURL'])}, "scopes": ${issued.templateData!['scopes']}}`,
    );
    expect(session).toEqual(JSON.parse(renderSessionJson(issued.value, augConfig.augment!.tenantURL, [])));
  });

  it('uses the requested scopes when given', async () => {
    const issued = await createAugmentProvider(augConfig, {}).issue(issueRequest({ scopes: ['read'] }));
    expect(issued.templateData?.['scopes']).toBe('["read"]');
  });

  it('the id is a non-reversible fingerprint that does not contain the value', async () => {
    const issued = await createAugmentProvider(augConfig, {}).issue(issueRequest());
    expect(issued.id).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(VALUE).not.toContain(issued.id.slice(7));
    const again = await createAugmentProvider(augConfig, {}).issue(issueRequest());
    expect(again.id).toBe(issued.id);
  });

  it('revoke is Unsupported (manual), lookup undefined, capabilities passthrough/never', async () => {
    const client = createAugmentProvider(augConfig, {});
    const error = await providerError(client.revoke({ id: 'x' }));
    expect(error.code).toBe('Unsupported');
    expect(error.message).toMatch(/manually/);
    expect(await client.lookup({ name: 'x' })).toBeUndefined();
    expect(client.capabilities).toEqual({
      mode: 'passthrough',
      revoke: false,
      lookupByName: false,
      list: false,
      expiry: 'never',
    });
  });

  it('check fails on an empty credential or a non-https tenant URL, without leaking the value', async () => {
    await expect(createAugmentProvider(augConfig, {}).check()).resolves.toBeUndefined();
    const empty = createAugmentProvider({ ...augConfig, credential: new SecretValue('  ') }, {});
    expect((await providerError(empty.check())).code).toBe('Permanent');
    const http = createAugmentProvider({ ...augConfig, augment: { tenantURL: 'http://tenant' } }, {});
    const error = await providerError(http.check());
    expect(error.message).not.toContain(VALUE);
  });

  it('requires augment.tenantURL', () => {
    expect(() => createAugmentProvider({ ...augConfig, augment: undefined }, {})).toThrow(/tenantURL/);
  });
});
