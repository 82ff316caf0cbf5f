// The per-type provider settings (src/api/v1alpha1/providers/) as a real kube-apiserver enforces them: only the block
// of spec.type, url optional where a host is implied, http.credential's exclusive forms, iomete's new settings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';

let cp: ControlPlane;
const ns = 'provider-rules';

beforeAll(async () => {
  cp = await startControlPlane();
  const r = await cp.kubectl(['create', 'namespace', ns]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await cp?.stop();
});

const auth = { secretRef: { name: 'admin', key: 'apiKey' } };
let seq = 0;
const create = (spec: Record<string, unknown>) =>
  cp.kubectl(['create', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: `p-${++seq}`, namespace: ns },
      spec,
    }),
  });

async function expectRejected(spec: Record<string, unknown>, message: string) {
  const r = await create(spec);
  expect(r.code, `accepted but should not be: ${JSON.stringify(spec)}`).not.toBe(0);
  expect(r.stderr).toContain(message);
}

async function expectAccepted(spec: Record<string, unknown>) {
  const r = await create(spec);
  expect(r.code, r.stderr).toBe(0);
}

describe('provider settings per type', () => {
  it('refuses the block of another type', async () => {
    await expectRejected(
      { type: 'iomete', url: 'https://iomete.example.com', auth, rill: { org: 'acme' } },
      'spec.rill is only allowed when type is rill',
    );
    await expectRejected(
      { type: 'reference', url: 'https://ref.example.com', auth, iomete: { domain: 'd' } },
      'spec.iomete is only allowed when type is iomete',
    );
  });

  it('needs no url for customerio (region host) and rill (Rill Cloud), still does for iomete and http', async () => {
    await expectAccepted({ type: 'customerio', auth, customerio: { region: 'eu' } });
    await expectAccepted({ type: 'rill', auth, rill: { org: 'acme' } });
    await expectRejected({ type: 'iomete', auth }, 'spec.url is required for this provider type');
  });

  it('takes iomete.revocation Delete|Suspend and a whole positive iomete.maxRps', async () => {
    await expectAccepted({
      type: 'iomete',
      url: 'https://iomete.example.com',
      auth,
      iomete: { revocation: 'Suspend', maxRps: 50 },
    });
    await expectRejected(
      { type: 'iomete', url: 'https://iomete.example.com', auth, iomete: { revocation: 'Archive' } },
      'spec.iomete.revocation',
    );
    await expectRejected(
      { type: 'iomete', url: 'https://iomete.example.com', auth, iomete: { maxRps: 0 } },
      'spec.iomete.maxRps',
    );
  });

  it('http.credential: a header with or without prefix, or basic, never both', async () => {
    const http = (credential: Record<string, unknown>) => ({
      type: 'http',
      url: 'https://tokens.example.com',
      auth,
      http: { issue: { method: 'POST', path: '/t' }, credential },
    });
    await expectAccepted(http({ header: 'X-API-Token' }));
    await expectAccepted(http({ header: 'Authorization', prefix: 'Token ' }));
    await expectAccepted(http({ basic: { username: 'tokensync' } }));
    await expectRejected(
      http({ basic: {}, header: 'X-API-Token' }),
      'http.credential.basic cannot be combined with header or prefix',
    );
    await expectRejected(http({ header: 'Bad Header' }), 'spec.http.credential.header');
  });
});
