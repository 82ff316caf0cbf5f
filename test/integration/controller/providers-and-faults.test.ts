import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { startCredentialsApi } from '../../../src/credentials-api/index.ts';
import { kubeRequest } from '../../../src/kube/client.ts';
import { Harness, isReady, waitFor } from './harness.ts';

const h = new Harness();

function condition(
  sat:
    | { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }
    | undefined,
) {
  return sat?.status?.conditions?.find((c) => c.type === 'Ready');
}

async function provider(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await h.apply({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name, namespace },
    spec,
  });
}

/** A reference provider's spec, reading its admin key from the Secret `secret` of the provider's namespace. */
function referenceSpec(secret: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'reference',
    url: h.api.url,
    allowInsecureHttp: true,
    ...extra,
    auth: { secretRef: { name: secret, key: 'token' } },
  };
}

async function getProvider(namespace: string, name: string) {
  return kubeRequest<{
    status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
  }>(h.kc, {
    method: 'GET',
    path: `/apis/tokensync.io/v1alpha1/namespaces/${namespace}/credentialsproviders/${name}`,
  });
}

async function waitReason(namespace: string, name: string, reason: string): Promise<ServiceAccountToken> {
  let last: ServiceAccountToken | undefined;
  return waitFor(`${namespace}/${name} Ready reason ${reason}`, async () => {
    last = await h.getToken(namespace, name);
    return condition(last)?.reason === reason ? last : undefined;
  }).catch((error: Error) => {
    throw new Error(`${error.message}; last status: ${JSON.stringify(last?.status)}`);
  });
}

beforeAll(async () => {
  // Workload restarts are an opt-in grant: this file's restart test runs with it.
  await h.start({ chart: ['restartTargets.enabled=true'] });
  await h.startController();
}, 120_000);

afterAll(async () => {
  await h.stop();
});

describe('providers', () => {
  it('reports a provider Ready when reachable and authenticated, and says why when not', async () => {
    await h.setupNamespace('prov');
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'wrong', namespace: 'prov', labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: 'not-the-key' },
    });
    await provider('prov', 'badkey', referenceSpec('wrong'));
    await provider('prov', 'nosecret', referenceSpec('absent'));
    const ready = async (name: string) =>
      waitFor(`${name} checked`, async () => condition(await getProvider('prov', name)));
    expect(await ready('reference')).toMatchObject({ status: 'True', reason: 'Reachable' });
    expect(await ready('badkey')).toMatchObject({ status: 'False', reason: 'UpstreamRejected' });
    // Whether an unmarked Secret exists is not looked up (that would read it): both are "not marked".
    const missing = await ready('nosecret');
    expect(missing).toMatchObject({ status: 'False', reason: 'CredentialNotAllowed' });
    expect(missing.message).toContain('prov/absent is not marked as a provider credential');
    expect(missing.message).toContain('or it does not exist');
  });

  it('waits for a missing provider, and issues as soon as it appears', async () => {
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' } });
    await h.createToken('late', 'early-bird');
    const waiting = await waitReason('late', 'early-bird', 'ProviderNotReady');
    expect(condition(waiting)?.message).toContain('CredentialsProvider reference not found');
    const started = Date.now();
    await h.setupNamespace('late');
    await waitFor('issued after the provider appeared', async () => isReady(await h.getToken('late', 'early-bird')));
    // Woken by the provider's event, not by the 30 s retry.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('lets a ClusterCredentialsProvider serve only the namespaces its selector admits', async () => {
    await h.apply({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shared-yes', labels: { 'tokensync.io/enabled': 'true' } },
    });
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared-no' } });
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tokensync-system' } });
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'cluster-admin-key',
        namespace: 'tokensync-system',
        labels: { 'tokensync.io/credential': 'true' },
      },
      stringData: { token: h.api.adminKey },
    });
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ClusterCredentialsProvider',
      metadata: { name: 'shared' },
      spec: {
        type: 'reference',
        url: h.api.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'cluster-admin-key', key: 'token', namespace: 'tokensync-system' } },
        namespaceSelector: { matchLabels: { 'tokensync.io/enabled': 'true' } },
      },
    });
    const ref = { providerRef: { kind: 'ClusterCredentialsProvider', name: 'shared' } };
    await h.createToken('shared-yes', 'allowed', ref);
    await h.createToken('shared-no', 'denied', ref);
    await waitFor('allowed Ready', async () => isReady(await h.getToken('shared-yes', 'allowed')));
    const denied = await waitReason('shared-no', 'denied', 'ProviderNotAllowed');
    expect(condition(denied)?.message).toContain('does not admit namespace shared-no');
    expect(h.events.some((e) => e.name === 'denied' && e.reason === 'ProviderNotReady')).toBe(true);
  });

  it('checks a CredentialsProvider in a namespace named "cluster" next to a ClusterCredentialsProvider of its name', async () => {
    // Both have the provider key "cluster/shared" (metrics, shards); each is checked, and each has its own client.
    await h.setupNamespace('cluster');
    await provider('cluster', 'shared', referenceSpec('reference-admin'));
    const checked = await waitFor('cluster/shared checked', async () =>
      condition(await getProvider('cluster', 'shared')),
    );
    expect(checked).toMatchObject({ status: 'True', reason: 'Reachable' });
    await h.createToken('cluster', 'namesake', { providerRef: { name: 'shared' } });
    await waitFor('namesake Ready', async () => isReady(await h.getToken('cluster', 'namesake')));
  });
});

describe('bad input and upstream faults', () => {
  it('reports a template the CRD cannot check as InvalidSpec, with an Event, and mints nothing', async () => {
    await h.setupNamespace('invalid');
    const before = await h.stats();
    await h.createToken('invalid', 'typo', { secret: { template: { token: '{{ .tokn }}' } } });
    const sat = await waitReason('invalid', 'typo', 'InvalidSpec');
    expect(condition(sat)?.message).toContain('unknown variable .tokn');
    expect(h.events.some((e) => e.name === 'typo' && e.reason === 'InvalidSpec')).toBe(true);
    expect((await h.stats()).mints).toBe(before.mints);
  });

  it('does not hot-loop on a permanent refusal (401)', async () => {
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'denied' } });
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'reference-admin', namespace: 'denied', labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: 'revoked-key' },
    });
    await provider('denied', 'reference', referenceSpec('reference-admin'));
    const before = await h.stats();
    await h.createToken('denied', 'refused');
    const sat = await waitReason('denied', 'refused', 'UpstreamRejected');
    expect(sat.status?.lastFailure).toContain('Permanent');
    await new Promise((r) => setTimeout(r, 5000));
    // One attempt, then 30 s before the next: a handful of requests at most (issue, and the provider's own check).
    expect((await h.stats()).requests - before.requests).toBeLessThanOrEqual(4);
    const retry = await h.getToken('denied', 'refused');
    expect(
      Date.parse(retry!.status!.nextAttemptAt!) - Date.parse(retry!.status!.lastFailureTime!),
    ).toBeGreaterThanOrEqual(20_000);
    // Clean up so this resource's retries cannot consume the fault budget of the next test.
    await h.deleteToken('denied', 'refused');
    await waitFor('refused deleted', async () => !(await h.getToken('denied', 'refused')));
    await kubeRequest(h.kc, {
      method: 'DELETE',
      path: '/apis/tokensync.io/v1alpha1/namespaces/denied/credentialsproviders/reference',
    });
  });

  it('converges through 5xx, timeouts and 429 with Retry-After, with a bounded number of calls', async () => {
    await h.setupNamespace('faults');
    await provider(
      'faults',
      'reference',
      referenceSpec('reference-admin', { timeout: '1s', rateLimit: { requestsPerSecond: 200, burst: 200 } }),
    );
    // One call in three fails. Harsher rates make the test a lottery, not a proof: a token whose calls keep failing
    // backs off 1, 2, 4 … 64 s by design, and which token meets which fault depends on timing, not only on the seed.
    await h.admin('PUT', '/_faults', { errorRate: 0.25, timeoutRate: 0.1, seed: 7 });
    const before = await h.stats();
    const names = Array.from({ length: 10 }, (_, i) => `flaky-${i}`);
    try {
      await Promise.all(names.map((n) => h.createToken('faults', n)));
      for (const n of names) await waitFor(`${n} Ready`, async () => isReady(await h.getToken('faults', n)), 120_000);
    } finally {
      await h.admin('DELETE', '/_faults');
    }
    const after = await h.stats();
    expect(after.requests - before.requests).toBeLessThan(names.length * 8);
    // Every Ready token is live and every failed or timed-out mint left nothing behind.
    const live = (await h.liveTokens()).filter((t) => t.name.startsWith('flaky-'));
    expect(live.length).toBe(names.length);

    // Nothing else is calling the API now (the flaky tokens are Ready, the refused one is gone).
    await h.admin('PUT', '/_faults', { rateLimitNext: { count: 1, retryAfterSeconds: 2 } });
    const started = Date.now();
    await h.createToken('faults', 'throttled');
    await waitFor('throttled Ready', async () => isReady(await h.getToken('faults', 'throttled')), 30_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(
      h.events.some((e) => e.name === 'throttled' && e.reason === 'IssueFailed' && e.message.includes('RateLimited')),
    ).toBe(true);
  }, 200_000);

  it('restarts the listed workloads after a rotation', async () => {
    await h.setupNamespace('restart-targets');
    await h.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'reporter', namespace: 'restart-targets' },
      spec: {
        selector: { matchLabels: { app: 'reporter' } },
        template: {
          metadata: { labels: { app: 'reporter' } },
          spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
        },
      },
    });
    const spec = { restartTargets: [{ kind: 'Deployment', name: 'reporter' }], rotation: { gracePeriod: '1s' } };
    await h.createToken('restart-targets', 'rolling', spec);
    const ready = await waitFor('Ready', async () => {
      const s = await h.getToken('restart-targets', 'rolling');
      return isReady(s) ? s : undefined;
    });
    expect(ready.status?.conditions?.find((c) => c.type === 'RestartTargets')).toMatchObject({
      status: 'True',
      reason: 'RestartsEnabled',
    });
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: {
        name: 'rolling',
        namespace: 'restart-targets',
        annotations: { 'tokensync.io/renew-requested-at': 'now' },
      },
      spec: h.tokenSpec(spec),
    });
    const deployment = await waitFor('pod template annotated', async () => {
      const d = await kubeRequest<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(
        h.kc,
        {
          method: 'GET',
          path: '/apis/apps/v1/namespaces/restart-targets/deployments/reporter',
        },
      );
      return d.spec.template.metadata.annotations?.['tokensync.io/restartedAt'] ? d : undefined;
    });
    expect(Date.parse(deployment.spec.template.metadata.annotations!['tokensync.io/restartedAt']!)).toBeGreaterThan(
      Date.now() - 60_000,
    );
  });
});

describe('egress policy', () => {
  // A second reference server on 127.0.0.2, another loopback address: the controller allows only 127.0.0.1 (the
  // harness's --egress-allow), so this one is what a tenant pointing a provider at a denied address looks like.
  let other: Awaited<ReturnType<typeof startCredentialsApi>>;
  let otherUrl: string;
  beforeAll(async () => {
    other = await startCredentialsApi({ host: '127.0.0.2', rateLimit: false });
    otherUrl = other.url;
  });
  afterAll(async () => {
    await other?.close();
  });
  const otherStats = async () => {
    const res = await request(`${otherUrl}/api/v1/audit/stats`, {
      headers: { authorization: `Bearer ${other.adminKey}` },
    });
    return (await res.body.json()) as { requests: number; mints: number };
  };
  const getClusterProvider = (name: string) =>
    kubeRequest<{ status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }>(
      h.kc,
      { method: 'GET', path: `/apis/tokensync.io/v1alpha1/clustercredentialsproviders/${name}` },
    );

  it('refuses a namespaced provider whose URL is a denied address: Ready=False on the provider and the token, no call made', async () => {
    expect(otherUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'egress' } });
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'other-admin', namespace: 'egress', labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: other.adminKey },
    });
    await provider('egress', 'loopback', {
      type: 'reference',
      url: otherUrl,
      allowInsecureHttp: true,
      auth: { secretRef: { name: 'other-admin', key: 'token' } },
    });
    const before = await otherStats();
    const ready = await waitFor('loopback provider checked', async () =>
      condition(await getProvider('egress', 'loopback')),
    );
    expect(ready).toMatchObject({ status: 'False', reason: 'UpstreamRejected' });
    expect(ready.message).toBe(
      'Permanent: reference check: egress denied: 127.0.0.2 (the address in spec.url) is in 127.0.0.0/8, loopback, denied by default. To allow it, a platform administrator adds "127.0.0.2/32" to the controller flag --egress-allow (Helm value egress.allow)',
    );

    await h.createToken('egress', 'ssrf', { providerRef: { name: 'loopback' } });
    const sat = await waitFor('ssrf token failed', async () => {
      const t = await h.getToken('egress', 'ssrf');
      return t?.status?.lastFailure ? t : undefined;
    });
    expect(condition(sat)?.status).toBe('False');
    expect(sat.status?.lastFailure).toContain('egress denied: 127.0.0.2');
    expect(condition(sat)?.message).toContain('egress denied: 127.0.0.2');
    expect(await h.getSecretData('egress', 'ssrf')).toBeUndefined();
    expect(await otherStats()).toMatchObject({ requests: before.requests, mints: 0 });
  });

  it("a ClusterCredentialsProvider's spec.egress.allow opens that address for it alone; a bad entry is InvalidSpec", async () => {
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tokensync-system' } });
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'other-admin', namespace: 'tokensync-system', labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: other.adminKey },
    });
    const cluster = (name: string, allow: string[]) =>
      h.apply({
        apiVersion: 'tokensync.io/v1alpha1',
        kind: 'ClusterCredentialsProvider',
        metadata: { name },
        spec: {
          type: 'reference',
          url: otherUrl,
          allowInsecureHttp: true,
          auth: { secretRef: { name: 'other-admin', key: 'token', namespace: 'tokensync-system' } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'egress-cluster' } },
          egress: { allow },
        },
      });
    await cluster('platform-internal', ['127.0.0.2']);
    await cluster('platform-typo', ['127.0.0.2/33']);
    const checked = (name: string) => waitFor(`${name} checked`, async () => condition(await getClusterProvider(name)));
    expect(await checked('platform-internal')).toMatchObject({ status: 'True', reason: 'Reachable' });
    const typo = await checked('platform-typo');
    expect(typo).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(typo.message).toBe(
      'spec.egress.allow of ClusterCredentialsProvider platform-typo: "127.0.0.2/33": the prefix length must be 0-32',
    );

    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'egress-cluster' } });
    await h.createToken('egress-cluster', 'internal', {
      providerRef: { kind: 'ClusterCredentialsProvider', name: 'platform-internal' },
    });
    await waitFor('internal Ready', async () => isReady(await h.getToken('egress-cluster', 'internal')));
    expect((await otherStats()).mints).toBe(1);
  });
});
