// Restart targets after a rotation, and the rollout gate, through the token reconciler on in-memory ports (the
// integration test test/integration/controller/workloads.test.ts proves the same on a real API server).
import { describe, expect, it, vi } from 'vitest';
import { TokenReconciler } from '../../../../src/controller/token/reconciler.ts';
import { FakeProvider, MemoryKube, newToken } from '../../../support/token-deps.ts';

const T0 = new Date('2026-11-26T12:00:00Z');
const R1 = 'reporting-11111111-r1';
const R2 = 'reporting-11111111-r2';

function setup(spec: Record<string, unknown>, options: { restartsEnabled?: boolean } = {}) {
  const kube = new MemoryKube(newToken({ lifetime: '1h', rotation: { gracePeriod: '10m' }, ...spec }));
  const provider = new FakeProvider({ now: () => env.clock.now() });
  const env = kube.deps(provider, { now: T0, restartsEnabled: options.restartsEnabled ?? true });
  const reconciler = new TokenReconciler(env.deps);
  const run = () => reconciler.reconcile(kube.token);
  const condition = (type: string) => kube.token.status?.conditions?.find((c) => c.type === type);
  /** Issues, then moves the clock to the renewal time and reconciles: a rotation. */
  const rotate = async () => {
    await run();
    env.clock.set(Date.parse(kube.token.status!.renewalTime!) + 1);
    return run();
  };
  return { kube, provider, ...env, run, rotate, condition, workloads: kube.workloads };
}

const rolledOut = { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };

describe('restart targets', () => {
  it('restarts a named workload once after a rotation, records it and says so in an Event', async () => {
    const t = setup({ restartTargets: [{ kind: 'Deployment', name: 'web' }] });
    t.workloads.add('Deployment', 'web');
    await t.run();
    expect(t.workloads.restarts).toEqual([]); // the first issue has no consumers to restart
    await t.rotate();
    expect(t.workloads.restarts.map((r) => `${r.kind}/${r.name}`)).toEqual(['Deployment/web']);
    expect(t.kube.token.status?.restarts).toMatchObject({
      revision: 2,
      completedAt: expect.any(String),
      workloads: [{ kind: 'Deployment', name: 'web', result: 'Restarted', generation: 2 }],
    });
    expect(t.events.filter((e) => e.reason === 'RestartedWorkload').map((e) => e.message)).toEqual([
      expect.stringMatching(/^Restarted Deployment web \(rollout restart at .*\) after rotation to revision 2$/),
    ]);
    await t.run();
    expect(t.workloads.restarts).toHaveLength(1); // done is done: no restart on the next reconcile
  });

  it('restarts every workload a selector matches, of its kind only, and each named one once', async () => {
    const t = setup({
      restartTargets: [
        { kind: 'Deployment', selector: { matchLabels: { team: 'a' } } },
        { kind: 'StatefulSet', selector: { matchLabels: { team: 'a' } } },
        { kind: 'Deployment', name: 'web' },
        { kind: 'Rollout', name: 'canary' },
      ],
    });
    t.workloads.add('Deployment', 'web', { team: 'a' });
    t.workloads.add('Deployment', 'api', { team: 'a' });
    t.workloads.add('Deployment', 'other', { team: 'b' });
    t.workloads.add('StatefulSet', 'db', { team: 'a' });
    t.workloads.add('DaemonSet', 'agent', { team: 'a' });
    t.workloads.add('Rollout', 'canary');
    await t.rotate();
    expect(t.workloads.restarts.map((r) => `${r.kind}/${r.name}`).sort()).toEqual([
      'Deployment/api',
      'Deployment/web',
      'Rollout/canary',
      'StatefulSet/db',
    ]);
    expect(t.condition('RestartTargets')?.message).toContain('every Deployment matching team=a');
  });

  it('reports a selector that matches nothing, and a missing workload, as Warnings', async () => {
    const t = setup({
      restartTargets: [
        { kind: 'DaemonSet', selector: { matchLabels: { team: 'nobody' } } },
        { kind: 'Deployment', name: 'gone' },
      ],
    });
    await t.rotate();
    const warnings = t.events.filter((e) => e.type === 'Warning').map((e) => e.message);
    expect(warnings).toEqual([
      'No DaemonSet matches team=nobody; nothing restarted',
      'Deployment gone not found; nothing restarted',
    ]);
    expect(t.kube.token.status?.restarts?.workloads).toEqual([
      { kind: 'Deployment', name: 'gone', result: 'NotFound' },
    ]);
  });

  it('restarts nothing when this installation does not restart workloads, and says so', async () => {
    const t = setup({ restartTargets: [{ kind: 'Deployment', name: 'web' }] }, { restartsEnabled: false });
    t.workloads.add('Deployment', 'web');
    await t.rotate();
    expect(t.workloads.restarts).toEqual([]);
    expect(t.kube.token.status?.restarts).toBeUndefined();
    expect(t.condition('RestartTargets')).toMatchObject({ status: 'False', reason: 'RestartsDisabled' });
  });

  it('a failed restart is a Warning, never a failed rotation', async () => {
    const t = setup({ restartTargets: [{ kind: 'Deployment', name: 'web' }] });
    t.workloads.add('Deployment', 'web');
    t.workloads.failRestart = () => new Error('deployments.apps "web" is forbidden');
    await t.rotate();
    expect(t.kube.token.status).toMatchObject({ revision: 2, restarts: { workloads: [{ result: 'Failed' }] } });
    expect(t.condition('Ready')).toMatchObject({ status: 'True' });
    expect(t.events.find((e) => e.type === 'Warning')?.message).toBe(
      'Could not restart Deployment web: deployments.apps "web" is forbidden',
    );
  });
});

describe('restarts batched across tokens', () => {
  it('a second token naming the same workload within the window shares one later restart', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // Two tokens in one controller: one clock, one workload store, one batcher.
      const a = setup({ restartTargets: [{ kind: 'Deployment', name: 'web' }] });
      a.workloads.add('Deployment', 'web');
      const billing = newToken({ lifetime: '1h', restartTargets: [{ kind: 'Deployment', name: 'web' }] });
      billing.metadata = { ...billing.metadata, name: 'billing', uid: '22222222-2222-3333-4444-555555555555' };
      const bKube = new MemoryKube(billing);
      const bEnv = bKube.deps(a.provider, { now: T0, restartsEnabled: true });
      const b = new TokenReconciler({
        ...bEnv.deps,
        clock: a.clock,
        workloads: a.workloads.api,
        restarts: a.restarts,
      });
      await a.run();
      await b.reconcile(bKube.token);
      a.clock.set(Date.parse(a.kube.token.status!.renewalTime!) + 1);
      await a.run();
      expect(a.workloads.restarts).toHaveLength(1);

      // billing's Secret is written 2 s after that restart began: its pods may hold billing's old token.
      a.clock.advance(2_000);
      bKube.token = {
        ...bKube.token,
        metadata: { ...bKube.token.metadata, annotations: { 'tokensync.io/renew-requested-at': 'now' } },
      };
      const wait = await b.reconcile(bKube.token);
      expect(bKube.token.status?.revision).toBe(2);
      expect(a.workloads.restarts).toHaveLength(1);
      expect(bKube.token.status?.restarts?.completedAt).toBeUndefined();
      expect(wait.requeueAfterMs).toBeGreaterThan(8_000);
      expect(wait.requeueAfterMs).toBeLessThanOrEqual(8_000 + 2_000);

      // A third request in the same window joins the scheduled restart instead of adding one.
      a.clock.advance(1_000);
      expect(
        await a.restarts.request({ namespace: 'ns', kind: 'Deployment', name: 'web' }, a.clock.now(), 'ns/third'),
      ).toMatchObject({ state: 'scheduled' });

      // The window ends: one restart for everything that asked, and those that asked are woken to record it.
      a.clock.advance(7_000);
      await vi.advanceTimersByTimeAsync(8_000);
      expect(a.workloads.restarts).toHaveLength(2);
      expect(a.woken.sort()).toEqual(['ns/billing', 'ns/third']);
      await b.reconcile(bKube.token);
      expect(bKube.token.status?.restarts).toMatchObject({
        completedAt: expect.any(String),
        workloads: [{ result: 'Restarted', generation: 3 }],
      });
      expect(a.workloads.restarts).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('rollout gate', () => {
  it('keeps the old token until the restarted workload has rolled out, then revokes it at once', async () => {
    const t = setup({ restartTargets: [{ kind: 'Deployment', name: 'web' }] });
    t.workloads.add('Deployment', 'web', {}, { replicas: 1 });
    await t.rotate();
    expect(t.provider.liveTokens().sort()).toEqual([R1, R2]);

    // The deployment controller has seen the change, but the new pod is not available yet.
    t.workloads.setStatus('Deployment', 'web', { ...rolledOut, replicas: 2, availableReplicas: 0 });
    t.clock.advance(30_000);
    const waiting = await t.run();
    expect(t.provider.liveTokens().sort()).toEqual([R1, R2]);
    expect(waiting.requeueAfterMs).toBe(5_000); // polls while a rollout is awaited

    t.workloads.setStatus('Deployment', 'web', rolledOut);
    t.clock.advance(5_000);
    await t.run();
    expect(t.provider.liveTokens()).toEqual([R2]);
    expect(t.kube.token.status?.retiring).toBeUndefined();
    expect(t.events.find((e) => e.reason === 'Revoked')?.message).toMatch(
      /^Revoked retired token reporting-11111111-r1: every restart target rolled out \(the grace period would have ended at /,
    );
  });

  it('is bounded by the grace period: a rollout that never finishes does not keep the old token', async () => {
    const t = setup({ restartTargets: [{ kind: 'Deployment', name: 'web' }] });
    t.workloads.add('Deployment', 'web');
    await t.rotate();
    t.clock.advance(10 * 60_000);
    await t.run();
    expect(t.provider.liveTokens()).toEqual([R2]);
  });

  it('stays shut when a restart failed: pods of that workload still hold the old token', async () => {
    const t = setup({
      restartTargets: [
        { kind: 'Deployment', name: 'web' },
        { kind: 'Deployment', name: 'api' },
      ],
    });
    t.workloads.add('Deployment', 'web');
    t.workloads.add('Deployment', 'api');
    t.workloads.failRestart = (_kind, name) => (name === 'api' ? new Error('conflict') : undefined);
    await t.rotate();
    t.workloads.setStatus('Deployment', 'web', rolledOut);
    t.clock.advance(60_000);
    expect((await t.run()).requeueAfterMs).toBeGreaterThan(5_000); // not polling: only the grace period ends it
    expect(t.provider.liveTokens().sort()).toEqual([R1, R2]);
  });

  it('stays shut when a selector could not be listed', async () => {
    const t = setup({ restartTargets: [{ kind: 'Deployment', selector: { matchLabels: { team: 'a' } } }] });
    t.workloads.add('Deployment', 'web', { team: 'a' });
    t.workloads.failList = new Error('deployments.apps is forbidden: cannot list');
    await t.rotate();
    expect(t.kube.token.status?.restarts?.workloads).toEqual([
      { kind: 'Deployment', selector: 'team=a', result: 'Failed' },
    ]);
    t.clock.advance(60_000);
    await t.run();
    expect(t.provider.liveTokens().sort()).toEqual([R1, R2]);
  });

  it('treats a restarted workload deleted since as holding no token', async () => {
    const t = setup({ restartTargets: [{ kind: 'StatefulSet', name: 'db' }] });
    t.workloads.add('StatefulSet', 'db');
    await t.rotate();
    t.workloads.objects.clear();
    t.clock.advance(1_000);
    await t.run();
    expect(t.provider.liveTokens()).toEqual([R2]);
  });
});
