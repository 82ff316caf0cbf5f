import { describe, expect, it } from 'vitest';
import { renderSessionJson } from '../../../src/providers/augment/passthrough.ts';
import { createProviderClient } from '../../../src/providers/registry.ts';
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
    const client = createProviderClient(augConfig, {});
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
    const issued = await createProviderClient(augConfig, {}).issue(issueRequest({ scopes: ['read'] }));
    expect(issued.templateData?.['scopes']).toBe('["read"]');
  });

  it('the id is a non-reversible fingerprint of the credential, the one client.passthrough announces', async () => {
    const client = createProviderClient(augConfig, {});
    const issued = await client.issue(issueRequest());
    expect(issued.id).toMatch(/^passthrough:sha256:[0-9a-f]{16}$/);
    expect(VALUE).not.toContain(issued.id.slice('passthrough:sha256:'.length));
    expect(client.passthrough).toEqual({ tokenId: issued.id });
    const again = await createProviderClient(augConfig, {}).issue(issueRequest());
    expect(again.id).toBe(issued.id);
    const replaced = createProviderClient({ ...augConfig, credential: new SecretValue(`${VALUE}x`) }, {});
    expect(replaced.passthrough?.tokenId).not.toBe(issued.id);
  });

  it('grants no expiry whatever lifetime is asked (Augment API tokens do not expire) and refuses readOnly', async () => {
    const client = createProviderClient(augConfig, {});
    const issued = await client.issue(issueRequest({ lifetimeSeconds: 3600 }));
    expect(issued.expiresAt).toBeUndefined(); // the token never expires: LifetimeHonored says so
    const error = await providerError(client.issue(issueRequest({ readOnly: true })));
    expect(error.message).toContain('spec.readOnly is not supported by augment');
  });

  it('revoke is Unsupported (manual), lookup undefined, capabilities passthrough/never', async () => {
    const client = createProviderClient(augConfig, {});
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
      accepts: { readOnly: false, scopes: true, attributes: [] },
    });
  });

  it('check fails on an empty credential or a non-https tenant URL, without leaking the value', async () => {
    expect((await createProviderClient(augConfig, {}).check())?.message).toContain('no API');
    const empty = createProviderClient({ ...augConfig, credential: new SecretValue('  ') }, {});
    expect((await providerError(empty.check())).code).toBe('Permanent');
    const http = createProviderClient({ ...augConfig, augment: { tenantURL: 'http://tenant' } }, {});
    const error = await providerError(http.check());
    expect(error.message).not.toContain(VALUE);
  });

  it('requires augment.tenantURL', () => {
    const { augment: _augment, ...bare } = augConfig;
    expect(() => createProviderClient(bare, {})).toThrow(/spec\.augment\.tenantURL/);
  });
});
