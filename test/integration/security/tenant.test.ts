// A tenant reaches only what the platform team allows. The attacker here is a namespaced user who may create
// CredentialsProviders and ServiceAccountTokens in their namespace but may not read Secrets (a Role, applied with
// their own client-certificate identity against the real API server, RBAC on). Each attack is refused with a clear
// condition, no call reaches any credentials API, and the controller reads no Secret it was not allowed to (the API
// server's audit log of the controller's identity says so).
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { startCredentialsApi } from '../../../src/credentials-api/index.ts';
import { kubeRequest } from '../../../src/kube/client.ts';
import { type KubeConfig, loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import { Harness, isReady, waitFor } from '../controller/harness.ts';

const CONTROLLER = `system:serviceaccount:${RELEASE_NAMESPACE}:tokensync`;
const NS = 'tenant-a';
const OTHER = 'tenant-b';
const h = new Harness();
let tenant: KubeConfig;
/** A reference credentials API on 127.0.0.2: a loopback address the controller's egress policy does not allow. */
let internal: Awaited<ReturnType<typeof startCredentialsApi>>;

const ready = (sat: ServiceAccountToken | undefined) => sat?.status?.conditions?.find((c) => c.type === 'Ready');

/** What the tenant does, as the tenant (their own identity, their own RBAC). */
async function asTenant(obj: Record<string, unknown>): Promise<void> {
  const meta = obj['metadata'] as { name: string; namespace: string };
  const plural = `${(obj['kind'] as string).toLowerCase()}s`;
  await kubeRequest(tenant, {
    method: 'PATCH',
    path: `/apis/tokensync.io/v1alpha1/namespaces/${meta.namespace}/${plural}/${meta.name}`,
    query: { fieldManager: 'tenant', force: true },
    body: obj,
    contentType: 'application/apply-patch+yaml',
  });
}

const provider = (name: string, spec: Record<string, unknown>) =>
  asTenant({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name, namespace: NS },
    spec,
  });
const token = (name: string, spec: Record<string, unknown>) =>
  asTenant({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { name, namespace: NS },
    spec,
  });

async function refused(name: string): Promise<ServiceAccountToken> {
  return waitFor(
    `${NS}/${name} refused`,
    async () => {
      const sat = await h.getToken(NS, name);
      return ready(sat)?.status === 'False' && ready(sat)?.reason !== 'NotIssued' ? sat : undefined;
    },
    60_000,
  );
}

const upstreamRequests = async () => (await h.stats()).requests;

/** Secrets of `namespace` the controller read (get, list or watch by name). */
const secretReads = (namespace: string, name: string) =>
  h.cp
    .auditRequests(CONTROLLER)
    .filter(
      (e) =>
        e.objectRef?.resource === 'secrets' &&
        e.objectRef.namespace === namespace &&
        e.objectRef.name === name &&
        ['get', 'list', 'watch'].includes(e.verb),
    );

beforeAll(async () => {
  await h.start({ auditUsers: [CONTROLLER] });
  internal = await startCredentialsApi({ host: '127.0.0.2', rateLimit: false });
  for (const ns of [NS, OTHER]) {
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { tier: 'tenants' } } });
  }
  // The tenant: providers and tokens in their namespace, no Secrets at all.
  const kubeconfig = await h.cp.createUser('alice', ['tenants']);
  tenant = loadKubeConfig({ kubeconfig });
  const rbac = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'tenant', namespace: NS },
      rules: [
        {
          apiGroups: ['tokensync.io'],
          resources: ['credentialsproviders', 'serviceaccounttokens'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'tenant', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    },
  ];
  const applied = await h.cp.kubectl(['apply', '-f', '-'], { input: rbac.map((o) => JSON.stringify(o)).join('\n') });
  expect(applied.code, applied.stderr).toBe(0);
  // What the platform team and the namespace's owners put there: an application Secret (not a credential) and a
  // labelled credential for the tenant's legitimate provider.
  await h.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-password', namespace: NS },
    stringData: { password: 'hunter2-not-for-tenants' },
  });
  await h.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'reference-admin', namespace: NS, labels: { 'tokensync.io/credential': 'true' } },
    stringData: { token: h.api.adminKey },
  });
  await h.startController();
}, 300_000);

afterAll(async () => {
  await internal?.close();
  await h.stop();
});

describe('a tenant who may create providers and tokens but not read Secrets', () => {
  it('cannot read the Secrets of their namespace themselves (the premise)', async () => {
    const r = await h.cp.kubectl(['auth', 'can-i', 'get', 'secrets', '-n', NS, '--as=alice', '--as-group=tenants']);
    expect(r.stdout.trim()).toBe('no');
  });

  it('cannot make the controller call a denied address (server-side request forgery)', async () => {
    const before = (await internalStats()).requests;
    await provider('internal', {
      type: 'reference',
      url: internal.url,
      allowInsecureHttp: true,
      auth: { secretRef: { name: 'reference-admin', key: 'token' } },
    });
    await token('ssrf', { providerRef: { name: 'internal' }, serviceAccount: 'sa-test' });
    const sat = await refused('ssrf');
    expect(sat.status?.lastFailure ?? ready(sat)?.message).toContain('egress denied: 127.0.0.2');
    expect((await internalStats()).requests).toBe(before);
    expect(await h.getSecretData(NS, 'ssrf')).toBeUndefined();
  });

  it('cannot have a Secret that is not marked as a credential copied into theirs (confused deputy)', async () => {
    const before = await upstreamRequests();
    // augment copies its credential verbatim into the token's Secret: the most direct way to exfiltrate a Secret.
    await provider('borrowed', {
      type: 'augment',
      augment: { tenantURL: 'https://tenant.example' },
      auth: { secretRef: { name: 'db-password', key: 'password' } },
    });
    await token('exfiltrate', { providerRef: { name: 'borrowed' } });
    const sat = await refused('exfiltrate');
    expect(ready(sat)).toMatchObject({ reason: 'CredentialNotAllowed' });
    expect(ready(sat)!.message).toContain(`Secret ${NS}/db-password is not marked as a provider credential`);
    expect(await h.getSecretData(NS, 'exfiltrate')).toBeUndefined();
    // Decided on the label alone: the controller never read the Secret.
    expect(secretReads(NS, 'db-password')).toEqual([]);
    expect(await upstreamRequests()).toBe(before);
  });

  it('cannot mint for a vendor account the cluster provider does not allow for their namespace', async () => {
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'platform-admin', namespace: RELEASE_NAMESPACE, labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: h.api.adminKey },
    });
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ClusterCredentialsProvider',
      metadata: { name: 'platform' },
      spec: {
        type: 'reference',
        url: h.api.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'platform-admin', key: 'token', namespace: RELEASE_NAMESPACE } },
        namespaceSelector: { matchLabels: { tier: 'tenants' } },
        allowedServiceAccounts: [{ names: ['app-*'] }],
      },
    });
    await waitFor('platform provider checked', async () => {
      const p = await kubeRequest<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(h.kc, {
        method: 'GET',
        path: '/apis/tokensync.io/v1alpha1/clustercredentialsproviders/platform',
      });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
    const before = await upstreamRequests();
    await token('admin', {
      providerRef: { kind: 'ClusterCredentialsProvider', name: 'platform' },
      serviceAccount: 'platform-admin',
    });
    const sat = await refused('admin');
    expect(ready(sat)).toMatchObject({ reason: 'ServiceAccountNotAllowed' });
    expect(ready(sat)!.message).toContain(
      'does not let namespace tenant-a mint for upstream service account "platform-admin"',
    );
    expect(await upstreamRequests()).toBe(before);

    // The same provider and namespace, an allowed account: issued.
    await token('app', {
      providerRef: { kind: 'ClusterCredentialsProvider', name: 'platform' },
      serviceAccount: 'app-reporting',
    });
    await waitFor('allowed account Ready', async () => isReady(await h.getToken(NS, 'app')), 60_000);
  });

  it("cannot reach another namespace's objects", async () => {
    // A provider that exists only in another namespace is not found from this one.
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'reference-admin', namespace: OTHER, labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: h.api.adminKey },
    });
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: 'theirs', namespace: OTHER },
      spec: {
        type: 'reference',
        url: h.api.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'reference-admin', key: 'token' } },
      },
    });
    await waitFor('their provider checked', async () => {
      const p = await kubeRequest<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(h.kc, {
        method: 'GET',
        path: `/apis/tokensync.io/v1alpha1/namespaces/${OTHER}/credentialsproviders/theirs`,
      });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
    const before = await upstreamRequests();
    await token('crossing', { providerRef: { name: 'theirs' }, serviceAccount: 'sa-test' });
    const sat = await refused('crossing');
    expect(ready(sat)).toMatchObject({ reason: 'ProviderNotReady' });
    expect(ready(sat)!.message).toBe(`CredentialsProvider theirs not found in namespace ${NS}`);

    // A namespaced provider cannot name another namespace's Secret: the field does not exist on this kind, and the
    // API server drops it (as `kubectl apply` would send it: a plain create), so the Secret is looked up in the
    // provider's own namespace.
    await kubeRequest(tenant, {
      method: 'POST',
      path: `/apis/tokensync.io/v1alpha1/namespaces/${NS}/credentialsproviders`,
      body: {
        apiVersion: 'tokensync.io/v1alpha1',
        kind: 'CredentialsProvider',
        metadata: { name: 'sneaky', namespace: NS },
        spec: {
          type: 'reference',
          url: h.api.url,
          allowInsecureHttp: true,
          auth: { secretRef: { name: 'other-admin', key: 'token', namespace: OTHER } },
        },
      },
    });
    const stored = await kubeRequest<{ spec: { auth: { secretRef: Record<string, string> } } }>(h.kc, {
      method: 'GET',
      path: `/apis/tokensync.io/v1alpha1/namespaces/${NS}/credentialsproviders/sneaky`,
    });
    expect(stored.spec.auth.secretRef).toEqual({ name: 'other-admin', key: 'token' });
    await token('sneaky', { providerRef: { name: 'sneaky' }, serviceAccount: 'sa-test' });
    expect(ready(await refused('sneaky'))).toMatchObject({ reason: 'CredentialNotAllowed' });
    expect(secretReads(OTHER, 'other-admin')).toEqual([]);
    expect(await upstreamRequests()).toBe(before);
  });

  it('the controller made no request the API server forbade', () => {
    const forbidden = h.cp.auditRequests(CONTROLLER).filter((e) => e.responseStatus?.code === 403);
    expect(
      forbidden.map((e) => `${e.verb} ${e.objectRef?.resource} ${e.objectRef?.namespace}/${e.objectRef?.name}`),
    ).toEqual([]);
  });
});

async function internalStats(): Promise<{ requests: number }> {
  const res = await request(`${internal.url}/api/v1/audit/stats`, {
    headers: { authorization: `Bearer ${internal.adminKey}` },
  });
  return (await res.body.json()) as { requests: number };
}
