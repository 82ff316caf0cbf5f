// The CRD schemas and CEL rules, enforced by a real kube-apiserver: every invalid object below is rejected at
// `kubectl apply` time with the message a user reads, before tokensync ever sees it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';

let cp: ControlPlane;
const ns = 'validation';

beforeAll(async () => {
  cp = await startControlPlane();
  const r = await cp.kubectl(['create', 'namespace', ns]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await cp?.stop();
});

type Obj = Record<string, unknown>;
const sat = (name: string, spec: Obj): Obj => ({
  apiVersion: 'tokensync.io/v1alpha1',
  kind: 'ServiceAccountToken',
  metadata: { name, namespace: ns },
  spec,
});
const provider = (name: string, spec: Obj): Obj => ({
  apiVersion: 'tokensync.io/v1alpha1',
  kind: 'CredentialsProvider',
  metadata: { name, namespace: ns },
  spec,
});
const clusterProvider = (name: string, spec: Obj): Obj => ({
  apiVersion: 'tokensync.io/v1alpha1',
  kind: 'ClusterCredentialsProvider',
  metadata: { name },
  spec,
});

const token = { providerRef: { name: 'reference' }, serviceAccount: 'ci-bot', lifetime: '1h', renewBefore: '20m' };
const auth = { secretRef: { name: 'admin', key: 'apiKey' } };
const iomete = { type: 'iomete', url: 'https://iomete.example.com', auth };

/** `kubectl create -f -` as a user would run it; returns what kubectl printed. */
async function create(object: Obj) {
  return cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(object) });
}

async function expectRejected(object: Obj, ...messages: string[]) {
  const r = await create(object);
  expect(r.code, `accepted but should not be: ${JSON.stringify(object)}\n${r.stdout}`).not.toBe(0);
  expect(r.stderr).toContain('is invalid');
  for (const message of messages) expect(r.stderr).toContain(message);
  return r.stderr;
}

describe('ServiceAccountToken rejects', () => {
  it('renewBefore >= lifetime', async () => {
    await expectRejected(
      sat('renew-too-long', { ...token, lifetime: '1h', renewBefore: '1h' }),
      'renewBefore must be shorter than lifetime',
    );
  });

  it('renewBefore without lifetime', async () => {
    await expectRejected(
      sat('renew-no-lifetime', { providerRef: { name: 'reference' }, renewBefore: '5m' }),
      'renewBefore must be shorter than lifetime (and lifetime must be set)',
    );
  });

  it('a renamed field set under both its names', async () => {
    await expectRejected(
      sat('account-twice', { ...token, serviceAccount: 'a', upstreamServiceAccount: 'b' }),
      'set upstreamServiceAccount or its former name serviceAccount, not both',
    );
    await expectRejected(
      sat('prefix-twice', { ...token, tokenName: 'a', tokenNamePrefix: 'b' }),
      'set tokenNamePrefix or its former name tokenName, not both',
    );
  });

  it('both renewBefore and renewBeforePercentage', async () => {
    await expectRejected(
      sat('renew-both', { ...token, renewBeforePercentage: 30 }),
      'set renewBefore or renewBeforePercentage, not both',
    );
  });

  it('a malformed duration', async () => {
    await expectRejected(
      sat('bad-duration', { ...token, lifetime: '1 hour' }),
      'spec.lifetime: Invalid value: "1 hour"',
      'should match',
    );
  });

  it('a duration in days, which Go durations do not have', async () => {
    await expectRejected(sat('days', { ...token, lifetime: '30d' }), 'spec.lifetime: Invalid value: "30d"');
  });

  it('lifetime under 1m', async () => {
    await expectRejected(
      sat('short', { providerRef: { name: 'reference' }, lifetime: '30s' }),
      'lifetime must be at least 1m',
    );
  });

  it('a bad providerRef.kind', async () => {
    await expectRejected(
      sat('bad-kind', { ...token, providerRef: { kind: 'Secret', name: 'reference' } }),
      'spec.providerRef.kind: Unsupported value: "Secret"',
      '"CredentialsProvider", "ClusterCredentialsProvider"',
    );
  });

  it('a missing providerRef', async () => {
    await expectRejected(sat('no-provider', { serviceAccount: 'x' }), 'spec.providerRef: Required value');
  });

  it('an invalid tokenName', async () => {
    await expectRejected(sat('bad-token-name', { ...token, tokenName: 'CI Bot' }), 'spec.tokenName: Invalid value');
  });

  it('renewBeforePercentage above 99', async () => {
    await expectRejected(
      sat('pct', { providerRef: { name: 'reference' }, lifetime: '1h', renewBeforePercentage: 100 }),
      'spec.renewBeforePercentage',
      'should be less than or equal to 99',
    );
  });

  it('a secret template key that cannot be a Secret data key', async () => {
    await expectRejected(
      sat('bad-template', { ...token, secret: { template: { 'session json': '{{ .token }}' } } }),
      'secret.template keys must be valid Secret data keys',
    );
  });

  it('a bad deletionPolicy', async () => {
    await expectRejected(
      sat('bad-policy', { ...token, deletionPolicy: 'Delete' }),
      'spec.deletionPolicy: Unsupported value: "Delete"',
    );
  });

  it('a restart target that is not a workload', async () => {
    await expectRejected(
      sat('bad-restart', { ...token, restartTargets: [{ kind: 'Pod', name: 'web' }] }),
      'spec.restartTargets[0].kind: Unsupported value: "Pod"',
    );
  });

  it('a restart target with both a name and a selector, or neither', async () => {
    const selector = { matchLabels: { app: 'web' } };
    await expectRejected(
      sat('restart-both', { ...token, restartTargets: [{ kind: 'Deployment', name: 'web', selector }] }),
      'spec.restartTargets[0]: Invalid value',
      'set exactly one of name and selector',
    );
    await expectRejected(
      sat('restart-neither', { ...token, restartTargets: [{ kind: 'Rollout' }] }),
      'set exactly one of name and selector',
    );
  });

  it('a restart target selector that selects every workload, or misuses an operator', async () => {
    await expectRejected(
      sat('restart-everything', { ...token, restartTargets: [{ kind: 'DaemonSet', selector: {} }] }),
      'an empty selector would select every workload of the kind',
    );
    await expectRejected(
      sat('restart-in-nothing', {
        ...token,
        restartTargets: [{ kind: 'Deployment', selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }],
      }),
      'In and NotIn need values; Exists and DoesNotExist take none',
    );
  });

  it('a renewal window that is not a window', async () => {
    await expectRejected(
      sat('window-empty', { ...token, renewal: { windows: [{ start: '09:00', end: '09:00' }] } }),
      'start and end must differ',
    );
    await expectRejected(
      sat('window-hour', { ...token, renewal: { windows: [{ start: '9:00', end: '17:00' }] } }),
      'spec.renewal.windows[0].start',
    );
    await expectRejected(
      sat('window-day', { ...token, renewal: { windows: [{ days: ['Monday'], start: '09:00', end: '17:00' }] } }),
      'spec.renewal.windows[0].days[0]: Unsupported value: "Monday"',
    );
  });

  it('accepts selector targets of every kind and a window past midnight', async () => {
    const r = await create(
      sat('workloads-ok', {
        ...token,
        restartTargets: [
          { kind: 'Rollout', name: 'canary' },
          { kind: 'StatefulSet', selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } },
        ],
        renewal: { windows: [{ days: ['Sat', 'Sun'], start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' }] },
      }),
    );
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('ServiceAccountToken immutable fields', () => {
  it('providerRef cannot change on update', async () => {
    const r = await create(sat('immutable-provider', token));
    expect(r.code, r.stderr).toBe(0);
    const patch = await cp.kubectl([
      'patch',
      '-n',
      ns,
      'serviceaccounttoken',
      'immutable-provider',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { providerRef: { name: 'other' } } }),
    ]);
    expect(patch.code).not.toBe(0);
    expect(patch.stderr).toContain('providerRef is immutable: delete and recreate the resource');
  });

  it('secret.name cannot change, be added or be removed on update', async () => {
    const r = await create(sat('immutable-secret', { ...token, secret: { name: 'first' } }));
    expect(r.code, r.stderr).toBe(0);
    const change = await cp.kubectl([
      'patch',
      '-n',
      ns,
      'sat',
      'immutable-secret',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { secret: { name: 'second' } } }),
    ]);
    expect(change.code).not.toBe(0);
    expect(change.stderr).toContain('secret.name is immutable: the old Secret would be orphaned');

    const remove = await cp.kubectl([
      'patch',
      '-n',
      ns,
      'sat',
      'immutable-secret',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'remove', path: '/spec/secret/name' }]),
    ]);
    expect(remove.code).not.toBe(0);
    expect(remove.stderr).toContain('secret.name cannot be added or removed after creation');

    // Other fields stay editable: the rules only pin what would orphan state.
    const edit = await cp.kubectl([
      'patch',
      '-n',
      ns,
      'sat',
      'immutable-secret',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { lifetime: '2h', secret: { labels: { team: 'a' } } } }),
    ]);
    expect(edit.code, edit.stderr).toBe(0);
  });
});

describe('CredentialsProvider rejects', () => {
  it('url missing for iomete', async () => {
    await expectRejected(provider('no-url', { type: 'iomete', auth }), 'spec.url is required for this provider type');
  });

  it('an http:// url without allowInsecureHttp', async () => {
    await expectRejected(
      provider('plain-http', { ...iomete, url: 'http://iomete.example.com' }),
      'spec.url must be https:// unless spec.allowInsecureHttp is true',
    );
  });

  it('an http:// url with allowInsecureHttp is accepted', async () => {
    const r = await create(
      provider('plain-http-ok', { ...iomete, url: 'http://127.0.0.1:8080', allowInsecureHttp: true }),
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it('rill ephemeral without project', async () => {
    await expectRejected(
      provider('rill-no-project', {
        type: 'rill',
        url: 'https://api.rilldata.com',
        auth,
        rill: { org: 'acme', mode: 'ephemeral' },
      }),
      'rill.project is required when rill.mode is ephemeral',
    );
  });

  it('rill without its settings', async () => {
    await expectRejected(
      provider('rill-bare', { type: 'rill', url: 'https://api.rilldata.com', auth }),
      'spec.rill is required when type is rill',
    );
  });

  it('augment without tenantURL', async () => {
    await expectRejected(
      provider('augment-bare', { type: 'augment', auth }),
      'spec.augment.tenantURL is required when type is augment',
    );
    await expectRejected(
      provider('augment-empty', { type: 'augment', auth, augment: {} }),
      'spec.augment.tenantURL: Required value',
    );
  });

  it('http without its call descriptions', async () => {
    await expectRejected(
      provider('http-bare', { type: 'http', url: 'https://tokens.example.com', auth }),
      'spec.http is required when type is http',
    );
  });

  it('a provider without a management credential', async () => {
    await expectRejected(
      provider('no-auth', { type: 'iomete', url: 'https://iomete.example.com' }),
      'spec.auth.secretRef is required',
    );
  });

  it('spec.egress, which only the cluster-scoped kind has (tenants cannot widen the egress policy)', async () => {
    const r = await create(provider('own-egress', { ...iomete, egress: { allow: ['10.0.0.0/8'] } }));
    expect(r.code, 'a namespaced provider accepted spec.egress').not.toBe(0);
    expect(r.stderr).toMatch(/unknown field "spec\.egress"/);
  });

  it('an unknown provider type', async () => {
    await expectRejected(provider('vault', { ...iomete, type: 'vault' }), 'spec.type: Unsupported value: "vault"');
  });
});

describe('ClusterCredentialsProvider rejects', () => {
  it('a secretRef without namespace', async () => {
    await expectRejected(
      clusterProvider('no-namespace', { ...iomete, namespaceSelector: {} }),
      'spec.auth.secretRef.namespace: Required value',
    );
  });

  it('a namespaceSelector with an unknown operator', async () => {
    await expectRejected(
      clusterProvider('bad-selector', {
        ...iomete,
        auth: { secretRef: { ...auth.secretRef, namespace: 'tokensync-system' } },
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Equals', values: ['a'] }] },
      }),
      'Unsupported value: "Equals"',
    );
  });

  it('an egress allow entry with a scheme, a port or a path', async () => {
    for (const entry of ['https://vault.corp', 'vault.corp:8200/x', '10.0.0.0/8/9']) {
      await expectRejected(
        clusterProvider('bad-egress', {
          ...iomete,
          auth: { secretRef: { ...auth.secretRef, namespace: 'tokensync-system' } },
          egress: { allow: [entry] },
        }),
        'spec.egress.allow[0]',
      );
    }
  });

  it('accepts egress allow entries: addresses, CIDRs, host names, *.domain', async () => {
    const r = await create(
      clusterProvider('good-egress', {
        ...iomete,
        auth: { secretRef: { ...auth.secretRef, namespace: 'tokensync-system' } },
        egress: { allow: ['10.20.0.0/16', 'fd00::5', 'vault.corp', '*.corp.example'] },
      }),
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it('the same CEL rules as CredentialsProvider', async () => {
    await expectRejected(
      clusterProvider('cluster-plain-http', {
        ...iomete,
        url: 'http://iomete.example.com',
        auth: { secretRef: { ...auth.secretRef, namespace: 'tokensync-system' } },
      }),
      'spec.url must be https:// unless spec.allowInsecureHttp is true',
    );
  });
});
