// One rollout restart per workload per window, shared by every token that asks in it; never one that began before a
// requester's Secret was written.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../../src/clock.ts';
import { RestartBatcher } from '../../../src/controller/workloads/restart-batcher.ts';
import { Metrics } from '../../../src/observability/metrics.ts';

const web = { namespace: 'apps', kind: 'Deployment', name: 'web' } as const;

function setup() {
  const clock = manualClock(Date.parse('2026-11-26T12:00:00Z'));
  const calls: Array<{ name: string; at: string }> = [];
  let generation = 1;
  const api = {
    restart: vi.fn(async (_ns: string, _kind: string, name: string, at: string) => {
      calls.push({ name, at });
      if (name === 'gone') return { result: 'not-found' as const };
      if (name === 'broken') throw new Error('the server is currently unable to handle the request');
      generation += 1;
      return { result: 'restarted' as const, generation };
    }),
  };
  const woken: string[] = [];
  const metrics = new Metrics({ processMetrics: false });
  const batcher = new RestartBatcher({
    api,
    clock,
    logger: pino({ level: 'silent' }),
    metrics,
    wake: (key) => woken.push(key),
  });
  return { clock, calls, batcher, woken, metrics };
}

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
afterEach(() => vi.useRealTimers());

describe('RestartBatcher', () => {
  it('restarts at once when the workload was not restarted in the last window', async () => {
    const t = setup();
    const outcome = await t.batcher.request(web, t.clock.now(), 'apps/a');
    expect(outcome).toEqual({ state: 'done', result: 'Restarted', generation: 2, at: t.clock.now() });
    expect(t.calls).toEqual([{ name: 'web', at: '2026-11-26T12:00:00Z' }]);
  });

  it('answers a request whose Secret predates a restart with that restart, without another', async () => {
    const t = setup();
    const written = t.clock.now();
    t.clock.advance(500);
    await t.batcher.request(web, t.clock.now(), 'apps/a');
    expect(await t.batcher.request(web, written, 'apps/b')).toMatchObject({ state: 'done', generation: 2 });
    expect(t.calls).toHaveLength(1);
  });

  it('shares a restart in flight with concurrent requests it covers', async () => {
    const t = setup();
    const now = t.clock.now();
    const [a, b] = await Promise.all([t.batcher.request(web, now, 'apps/a'), t.batcher.request(web, now, 'apps/b')]);
    expect(a).toEqual(b);
    expect(t.calls).toHaveLength(1);
  });

  it('batches later requests in the window into one restart at its end, then wakes each requester', async () => {
    const t = setup();
    await t.batcher.request(web, t.clock.now(), 'apps/a');
    for (const name of ['b', 'c', 'd']) {
      t.clock.advance(1_000);
      expect(await t.batcher.request(web, t.clock.now(), `apps/${name}`)).toEqual({
        state: 'scheduled',
        at: Date.parse('2026-11-26T12:00:10Z'),
      });
    }
    expect(t.calls).toHaveLength(1);
    t.clock.set(Date.parse('2026-11-26T12:00:10Z'));
    await vi.advanceTimersByTimeAsync(9_000); // scheduled by the first request in the window, at +1 s
    expect(t.calls.map((c) => c.at)).toEqual(['2026-11-26T12:00:00Z', '2026-11-26T12:00:10Z']);
    expect(t.woken).toEqual(['apps/b', 'apps/c', 'apps/d']);
    // Woken, they get the restart they shared.
    expect(await t.batcher.request(web, Date.parse('2026-11-26T12:00:03Z'), 'apps/c')).toMatchObject({
      state: 'done',
      generation: 3,
    });
    // After the window a new request restarts at once again.
    t.clock.advance(10_000);
    expect(await t.batcher.request(web, t.clock.now(), 'apps/e')).toMatchObject({ state: 'done', generation: 4 });
  });

  it('keeps workloads apart: another workload is not held by this one’s window', async () => {
    const t = setup();
    await t.batcher.request(web, t.clock.now(), 'apps/a');
    expect(await t.batcher.request({ ...web, name: 'api' }, t.clock.now(), 'apps/a')).toMatchObject({ state: 'done' });
    expect(await t.batcher.request({ ...web, namespace: 'other' }, t.clock.now(), 'other/a')).toMatchObject({
      state: 'done',
    });
    expect(t.calls).toHaveLength(3);
  });

  it('rounds the restart time up to the second, so an Argo Rollout restarts every pod older than the Secret', async () => {
    const t = setup();
    t.clock.advance(250);
    await t.batcher.request(web, t.clock.now(), 'apps/a');
    expect(t.calls[0]!.at).toBe('2026-11-26T12:00:01Z');
  });

  it('counts restarts by namespace, kind and result, not requests', async () => {
    const t = setup();
    await t.batcher.request(web, t.clock.now(), 'apps/a');
    await t.batcher.request(web, t.clock.now(), 'apps/b');
    await t.batcher.request({ ...web, name: 'gone' }, t.clock.now(), 'apps/a');
    expect(await t.batcher.request({ ...web, name: 'broken' }, t.clock.now(), 'apps/a')).toMatchObject({
      result: 'Failed',
      message: 'the server is currently unable to handle the request',
    });
    const text = await t.metrics.text();
    expect(text).toContain(
      'tokensync_workload_restarts_total{namespace="apps",kind="Deployment",result="restarted"} 1',
    );
    expect(text).toContain(
      'tokensync_workload_restarts_total{namespace="apps",kind="Deployment",result="not_found"} 1',
    );
    expect(text).toContain('tokensync_workload_restarts_total{namespace="apps",kind="Deployment",result="error"} 1');
  });

  it('cancels scheduled restarts when stopped (leadership lost): they stay owed in status', async () => {
    const t = setup();
    await t.batcher.request(web, t.clock.now(), 'apps/a');
    t.clock.advance(1_000);
    await t.batcher.request(web, t.clock.now(), 'apps/b');
    t.batcher.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(t.calls).toHaveLength(1);
    expect(t.woken).toEqual([]);
  });
});
