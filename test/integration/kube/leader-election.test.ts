import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeConfig, loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { LeaderElector } from '../../../src/kube/leader-election.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { getObject } from '../../support/kube-verbs.ts';

let cp: ControlPlane;
let kc: KubeConfig;
let leaseCounter = 0;
const ns = 'default';

// Short periods so the test runs in seconds; the ratios match the defaults (15 s / 10 s / 2 s).
const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400 };

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

function candidate(name: string, identity: string) {
  const timeline: string[] = [];
  let signal: AbortSignal | undefined;
  const elector = new LeaderElector({ kubeConfig: kc, namespace: ns, name, identity, ...timing });
  const running = elector.run({
    onStartedLeading: (s) => {
      signal = s;
      timeline.push(`${identity}:start`);
    },
    onStoppedLeading: () => {
      timeline.push(`${identity}:stop`);
    },
  });
  return { elector, running, timeline, signal: () => signal };
}

beforeAll(async () => {
  cp = await startControlPlane({ crds: false });
  kc = loadKubeConfig({ kubeconfig: cp.kubeconfigPath });
});

afterAll(async () => {
  await cp?.stop();
});

describe('LeaderElector against a real API server', () => {
  it('elects exactly one of two candidates and keeps it while it renews', async () => {
    const name = `lease-${++leaseCounter}`;
    const a = candidate(name, 'a');
    const b = candidate(name, 'b');
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 'a leader');
    const [leader, other] = a.elector.isLeader() ? [a, b] : [b, a];
    // Over several lease durations, the leader keeps renewing and the other never leads.
    const deadline = Date.now() + 2 * timing.leaseDurationMs;
    while (Date.now() < deadline) {
      expect(leader.elector.isLeader() && !other.elector.isLeader()).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
    }
    const lease = await getObject<{ spec: { holderIdentity: string; leaseDurationSeconds: number } }>(kc, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: ns,
      name,
    });
    expect(lease.spec.holderIdentity).toBe(leader === a ? 'a' : 'b');
    expect(lease.spec.leaseDurationSeconds).toBe(3);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('hands over at once when the leader stops and releases the lease', async () => {
    const name = `lease-${++leaseCounter}`;
    const a = candidate(name, 'a');
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    const b = candidate(name, 'b');
    await new Promise((r) => setTimeout(r, 500));
    expect(b.elector.isLeader()).toBe(false);
    const stopped = Date.now();
    await a.elector.stop();
    expect(a.signal()?.aborted).toBe(true);
    expect(a.timeline).toEqual(['a:start', 'a:stop']);
    await waitFor(() => b.elector.isLeader(), 'b to take over');
    // Released, not expired: well within leaseDuration + retry.
    expect(Date.now() - stopped).toBeLessThan(timing.leaseDurationMs + timing.retryPeriodMs * 2.2);
    await b.elector.stop();
  });

  it('lets a standby take over an abandoned lease only after it expires', async () => {
    const name = `lease-${++leaseCounter}`;
    const a = candidate(name, 'a');
    await waitFor(() => a.elector.isLeader(), 'a to lead');
    const b = candidate(name, 'b');
    await new Promise((r) => setTimeout(r, 300));
    // 'a' loses the API server for good (crashed, or partitioned): it cannot renew and cannot release.
    a.elector.testing.partition(true);
    const cut = Date.now();
    await waitFor(() => b.elector.isLeader(), 'b to take over', 20_000);
    const tookOver = Date.now() - cut;
    expect(tookOver).toBeGreaterThanOrEqual(timing.leaseDurationMs - timing.retryPeriodMs);
    expect(tookOver).toBeLessThan(timing.leaseDurationMs + timing.renewDeadlineMs + 3 * timing.retryPeriodMs);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('steps down when renewals fail, before the other candidate acquires', async () => {
    const name = `lease-${++leaseCounter}`;
    const events: string[] = [];
    const a = new LeaderElector({
      kubeConfig: kc,
      namespace: ns,
      name,
      identity: 'a',
      ...timing,
      onChange: (l) => events.push(`a:${l ? 'leader' : 'follower'}`),
    });
    const b = new LeaderElector({
      kubeConfig: kc,
      namespace: ns,
      name,
      identity: 'b',
      ...timing,
      onChange: (l) => events.push(`b:${l ? 'leader' : 'follower'}`),
    });
    let aSignal: AbortSignal | undefined;
    void a.run({
      onStartedLeading: (s) => {
        aSignal = s;
      },
      onStoppedLeading: () => events.push('a:stopped'),
    });
    await waitFor(() => a.isLeader(), 'a to lead');
    void b.run({ onStartedLeading: () => {}, onStoppedLeading: () => {} });
    await new Promise((r) => setTimeout(r, 300));
    a.testing.partition(true);
    await waitFor(() => !a.isLeader(), 'a to step down');
    expect(aSignal?.aborted).toBe(true);
    expect(b.isLeader()).toBe(false);
    await waitFor(() => b.isLeader(), 'b to take over', 20_000);
    // Never two leaders: a stepped down (and its work was told to stop) strictly before b started.
    expect(events).toEqual(['a:leader', 'a:follower', 'a:stopped', 'b:leader']);
    // Once the partition heals, a campaigns again but b holds the lease.
    a.testing.partition(false);
    await new Promise((r) => setTimeout(r, 1000));
    expect(a.isLeader()).toBe(false);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('rejects timings that would allow two leaders', () => {
    expect(
      () =>
        new LeaderElector({
          kubeConfig: kc,
          namespace: ns,
          name: 'x',
          identity: 'x',
          leaseDurationMs: 1000,
          renewDeadlineMs: 2000,
        }),
    ).toThrow(/leaseDurationMs/);
  });
});
