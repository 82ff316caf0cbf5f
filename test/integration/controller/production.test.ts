// The controller as production runs it: two `tokensync controller` processes with leader election, each
// authenticated as the Helm chart's ServiceAccount (a TokenRequest token) and holding only the chart's rendered RBAC.
// Proves failover without double mints, the least-privilege RBAC, metrics, real Events, and log hygiene.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../../../src/kube/client.ts';
import { RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { ControllerProcess } from './process.ts';

const SYSTEM_NS = RELEASE_NAMESPACE;
const h = new Harness();
const controllers: ControllerProcess[] = [];
let kubeconfig = '';
const seenTokens: string[] = [];

async function scrape(c: ControllerProcess): Promise<string> {
  return (await request(`${c.metricsUrl}/metrics`)).body.text();
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await kubeRequest<{ spec: { holderIdentity?: string } }>(h.kc, {
    method: 'GET',
    path: `/apis/coordination.k8s.io/v1/namespaces/${SYSTEM_NS}/leases/tokensync-controller`,
  }).catch(() => undefined);
  return lease?.spec.holderIdentity;
}

const leaderOf = async () => {
  const holder = await leaseHolder();
  return controllers.find((c) => c.child.exitCode === null && holder?.endsWith(`_${c.child.pid}`));
};

function startController(): ControllerProcess {
  const c = new ControllerProcess(kubeconfig, [
    '--leader-elect',
    '--leader-election-namespace',
    SYSTEM_NS,
    '--lease-duration',
    '4s',
    '--renew-deadline',
    '3s',
    '--retry-period',
    '500ms',
  ]);
  controllers.push(c);
  return c;
}

beforeAll(async () => {
  await h.start();
  kubeconfig = h.controllerKubeconfigPath;
  await h.setupNamespace('prod');
}, 120_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.kill('SIGKILL')));
  await h.stop();
});

describe('production setup: chart RBAC, leader election, metrics, Events', () => {
  it('with two replicas only the leader reconciles, and a standby takes over after SIGKILL without minting twice', async () => {
    const [a, b] = [startController(), startController()];
    await Promise.all([a.synced(), b.synced()]);
    for (let i = 0; i < 10; i++) await h.createToken('prod', `ha-${i}`);
    for (let i = 0; i < 10; i++)
      await waitFor(`ha-${i} Ready`, async () => isReady(await h.getToken('prod', `ha-${i}`)));
    const leader = await waitFor('a leader', leaderOf);
    const standby = leader === a ? b : a;
    expect(metricValue(await scrape(leader), 'tokensync_leader')).toBe(1);
    expect(metricValue(await scrape(standby), 'tokensync_leader')).toBe(0);
    expect(standby.output.some((l) => l.includes('Issued token'))).toBe(false);
    // Both are ready: the standby's caches are warm, so it can take over at once.
    for (const c of [leader, standby]) expect((await request(`${c.healthUrl}/readyz`)).statusCode).toBe(200);

    await leader.kill('SIGKILL');
    for (let i = 10; i < 15; i++) await h.createToken('prod', `ha-${i}`);
    await waitFor('standby leads', async () => (await leaderOf()) === standby, 20_000);
    for (let i = 0; i < 15; i++)
      await waitFor(`ha-${i} Ready`, async () => isReady(await h.getToken('prod', `ha-${i}`)));
    expect((await h.stats()).mints).toBe(15);
    const live = await h.liveTokens();
    expect(live.length).toBe(15);
  }, 120_000);

  it('exports Prometheus metrics with the documented names, types and values after create, renew and delete', async () => {
    const leader = (await leaderOf())!;
    await h.createToken('prod', 'metered', { rotation: { gracePeriod: '1s' } });
    const sat = await waitFor('metered Ready', async () => {
      const s = await h.getToken('prod', 'metered');
      return isReady(s) ? s : undefined;
    });
    const data = await h.getSecretData('prod', sat.status!.secretName!);
    seenTokens.push(data!['token']!);
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: { name: 'metered', namespace: 'prod', annotations: { 'tokensync.io/renew-requested-at': 'now' } },
      spec: h.tokenSpec({ rotation: { gracePeriod: '1s' } }),
    });
    const renewed = await waitFor('metered rotated and old revoked', async () => {
      const s = await h.getToken('prod', 'metered');
      return s?.status?.revision === 2 && !s.status.pending && !s.status.retiring?.length ? s : undefined;
    });
    seenTokens.push((await h.getSecretData('prod', renewed.status!.secretName!))!['token']!);

    const text = await scrape(leader);
    for (const [name, type] of [
      ['tokensync_token_expiration_timestamp_seconds', 'gauge'],
      ['tokensync_token_renewal_timestamp_seconds', 'gauge'],
      ['tokensync_token_ready', 'gauge'],
      ['tokensync_tokens', 'gauge'],
      ['tokensync_tokens_expired', 'gauge'],
      ['tokensync_tokens_renewal_due', 'gauge'],
      ['tokensync_mints_total', 'counter'],
      ['tokensync_revocations_total', 'counter'],
      ['tokensync_upstream_requests_total', 'counter'],
      ['tokensync_upstream_request_duration_seconds', 'histogram'],
      ['tokensync_reconcile_total', 'counter'],
      ['tokensync_reconcile_errors_total', 'counter'],
      ['tokensync_reconcile_duration_seconds', 'histogram'],
      ['tokensync_workqueue_depth', 'gauge'],
      ['tokensync_workqueue_adds_total', 'counter'],
      ['tokensync_leader', 'gauge'],
      ['tokensync_process_resident_memory_bytes', 'gauge'],
    ]) {
      expect(text, name).toContain(`# TYPE ${name} ${type}`);
    }
    const labels = { namespace: 'prod', name: 'metered' };
    expect(metricValue(text, 'tokensync_token_expiration_timestamp_seconds', labels)).toBe(
      Date.parse(renewed.status!.expiresAt!) / 1000,
    );
    expect(metricValue(text, 'tokensync_token_renewal_timestamp_seconds', labels)).toBe(
      Date.parse(renewed.status!.renewalTime!) / 1000,
    );
    expect(metricValue(text, 'tokensync_token_ready', { ...labels, reason: 'Issued' })).toBe(1);
    expect(metricValue(text, 'tokensync_tokens', { namespace: 'prod', ready: 'True' })).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'tokensync_mints_total', { provider: 'prod/reference', result: 'success' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'tokensync_revocations_total', { provider: 'prod/reference', result: 'success' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'tokensync_upstream_requests_total', { operation: 'issue', code: '201' }),
    ).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'tokensync_leader')).toBe(1);

    await h.deleteToken('prod', 'metered');
    await waitFor('metered gone', async () => !(await h.getToken('prod', 'metered')));
    await waitFor('series of a deleted token dropped', async () => {
      const after = await scrape(leader);
      return metricValue(after, 'tokensync_token_ready', labels) === undefined;
    });
    const final = await scrape(leader);
    for (const token of seenTokens) expect(final).not.toContain(token);
  });

  it('records real Kubernetes Events for issue, renewal and revocation', async () => {
    const events = await kubeRequest<{ items: Array<{ reason: string; note?: string; regarding?: { name: string } }> }>(
      h.kc,
      {
        method: 'GET',
        path: '/apis/events.k8s.io/v1/namespaces/prod/events',
      },
    );
    const reasons = new Set(events.items.filter((e) => e.regarding?.name === 'metered').map((e) => e.reason));
    expect([...reasons]).toEqual(expect.arrayContaining(['Issued', 'Renewed', 'Revoked']));
    for (const e of events.items) for (const token of seenTokens) expect(e.note ?? '').not.toContain(token);
  });

  it('a leader whose Lease is taken exits at once (as client-go does), and a standby leads', async () => {
    const leader = (await leaderOf())!;
    const standby = startController();
    await standby.synced();
    // Another holder appears on the Lease: the leader cannot renew and must not keep working past its renew deadline.
    await kubeRequest(h.kc, {
      method: 'PATCH',
      path: `/apis/coordination.k8s.io/v1/namespaces/${SYSTEM_NS}/leases/tokensync-controller`,
      contentType: 'application/merge-patch+json',
      body: {
        spec: {
          holderIdentity: 'intruder',
          leaseDurationSeconds: 4,
          renewTime: new Date().toISOString().replace(/Z$/, '000Z'),
        },
      },
    });
    expect(await leader.exited).toBe(1);
    expect(leader.output.some((l) => l.includes('lost leadership; exiting at once'))).toBe(true);
    await waitFor('the standby leads', async () => (await leaderOf()) === standby, 30_000);
    const before = (await h.stats()).mints;
    await h.createToken('prod', 'after-takeover');
    await waitFor('after-takeover Ready', async () => isReady(await h.getToken('prod', 'after-takeover')));
    expect((await h.stats()).mints).toBe(before + 1);
  }, 90_000);

  it('never logs a token value in either process', () => {
    const lines = controllers.flatMap((c) => c.output);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((l) => seenTokens.some((t) => l.includes(t)))).toEqual([]);
    // The controller ran as the chart's ServiceAccount: no request was forbidden by its RBAC.
    expect(lines.filter((l) => /forbidden/i.test(l))).toEqual([]);
  });
});
