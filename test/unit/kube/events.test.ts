import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubeRequest } from '../../../src/kube/client.ts';
import { EventRecorder, type EventRecorderOptions } from '../../../src/kube/events.ts';

/** A fake API server: records each Event write; `hold` keeps writes in flight until released. */
function fakeApi() {
  const writes: Array<{ method: string; reason: string; type: string; count: number; name: string }> = [];
  let held: Array<() => void> | undefined;
  return {
    writes,
    hold() {
      held = [];
    },
    release() {
      const h = held ?? [];
      held = undefined;
      for (const r of h) r();
    },
    send: async (req: KubeRequest) => {
      const body = req.body as {
        reason?: string;
        type?: string;
        regarding?: { name: string };
        series?: { count: number };
      };
      writes.push({
        method: req.method,
        reason: body.reason ?? '',
        type: body.type ?? '',
        count: body.series?.count ?? 1,
        name: body.regarding?.name ?? req.path.split('/').pop()!,
      });
      if (held) await new Promise<void>((r) => held!.push(r));
      return {};
    },
  };
}

const obj = (name: string) => ({
  apiVersion: 'tokensync.io/v1alpha1',
  kind: 'ServiceAccountToken',
  metadata: { name, namespace: 'ns', uid: `uid-${name}` },
});

function recorder(api: ReturnType<typeof fakeApi>, options: Partial<EventRecorderOptions> = {}) {
  const dropped: string[] = [];
  const rec = new EventRecorder({
    kubeConfig: new KubeConfig(),
    component: 'tokensync',
    instance: 'test',
    send: api.send,
    onDropped: (reason, type) => dropped.push(`${reason}/${type}`),
    ...options,
  });
  return { rec, dropped };
}

describe('EventRecorder write budget', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a burst at once and then at most qps Events per second, for the whole process', async () => {
    const api = fakeApi();
    const { rec, dropped } = recorder(api, { burst: 5, qps: 10, maxInFlight: 100 });
    for (let i = 0; i < 30; i++) void rec.record(obj(`t-${i}`), 'Normal', 'Issued', `Issued token t-${i}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(api.writes).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.writes.length).toBeGreaterThanOrEqual(14);
    expect(api.writes.length).toBeLessThanOrEqual(15);
    await vi.advanceTimersByTimeAsync(2000);
    expect(api.writes).toHaveLength(30);
    expect(dropped).toEqual([]);
  });

  it('keeps no more than maxInFlight writes open at once', async () => {
    const api = fakeApi();
    api.hold();
    const { rec } = recorder(api, { maxInFlight: 2 });
    for (let i = 0; i < 6; i++) void rec.record(obj(`t-${i}`), 'Normal', 'Issued', 'x');
    await vi.advanceTimersByTimeAsync(0);
    expect(api.writes).toHaveLength(2);
    expect(rec.backlog).toBe(4);
    api.release(); // the two in flight finish; the next two start and are held again
    api.hold();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.writes).toHaveLength(4);
    expect(rec.backlog).toBe(2);
    api.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.writes).toHaveLength(6);
  });

  it('keeps Warnings over Normals when the backlog is full, and counts what it drops', async () => {
    const api = fakeApi();
    api.hold();
    const { rec, dropped } = recorder(api, { maxInFlight: 1, maxBacklog: 3 });
    void rec.record(obj('a'), 'Normal', 'Issued', 'a'); // taken at once, held in flight
    await vi.advanceTimersByTimeAsync(0);
    for (const n of ['b', 'c', 'd']) void rec.record(obj(n), 'Normal', 'Issued', n);
    expect(rec.backlog).toBe(3);
    const warning = rec.record(obj('w'), 'Warning', 'IssueFailed', 'upstream refused');
    expect(dropped).toEqual(['backlog/Normal']); // b made room for the Warning
    void rec.record(obj('e'), 'Normal', 'Issued', 'e');
    expect(dropped).toEqual(['backlog/Normal', 'backlog/Normal']); // e did not fit
    api.release();
    await vi.advanceTimersByTimeAsync(0);
    await warning;
    await vi.advanceTimersByTimeAsync(0);
    // The Warning goes before the Normals queued ahead of it.
    expect(api.writes.map((w) => w.name)).toEqual(['a', 'w', 'c', 'd']);
  });

  it('folds repeats recorded while a write waits into one write with their count', async () => {
    const api = fakeApi();
    const { rec } = recorder(api, { burst: 1, qps: 1 });
    void rec.record(obj('other'), 'Normal', 'Issued', 'x'); // uses the burst
    const repeats = Array.from({ length: 5 }, () => rec.record(obj('hot'), 'Warning', 'IssueFailed', 'refused'));
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(repeats);
    expect(api.writes.filter((w) => w.name === 'hot')).toEqual([
      { method: 'POST', reason: 'IssueFailed', type: 'Warning', count: 5, name: 'hot' },
    ]);
  });

  it('drops what one object records beyond its spam budget, without touching other objects', async () => {
    const api = fakeApi();
    const { rec, dropped } = recorder(api, { spamBurst: 3, spamRefillMs: 60_000 });
    for (let i = 0; i < 5; i++) void rec.record(obj('noisy'), 'Warning', 'IssueFailed', `attempt ${i}`);
    void rec.record(obj('quiet'), 'Normal', 'Issued', 'ok');
    await vi.advanceTimersByTimeAsync(0);
    expect(api.writes.filter((w) => w.name === 'noisy')).toHaveLength(3);
    expect(api.writes.filter((w) => w.name === 'quiet')).toHaveLength(1);
    expect(dropped).toEqual(['spam/Warning', 'spam/Warning']);
    // The budget refills: one more after a minute.
    await vi.advanceTimersByTimeAsync(60_000);
    void rec.record(obj('noisy'), 'Warning', 'IssueFailed', 'attempt 5');
    void rec.record(obj('noisy'), 'Warning', 'IssueFailed', 'attempt 6');
    await vi.advanceTimersByTimeAsync(0);
    expect(api.writes.filter((w) => w.name === 'noisy')).toHaveLength(4);
  });

  it('returns to the caller before the write is made', () => {
    const api = fakeApi();
    const { rec } = recorder(api);
    void rec.record(obj('a'), 'Normal', 'Issued', 'a');
    expect(api.writes).toHaveLength(0); // written on a later tick, never on the caller's
  });
});

describe('EventRecorder memory', () => {
  it('keeps only the name, namespace, uid and kind of the object, not the object a reconcile passed in', async () => {
    const bodies: unknown[] = [];
    const rec = new EventRecorder({
      kubeConfig: new KubeConfig(),
      component: 'tokensync',
      instance: 'test',
      send: async (req) => {
        bodies.push(req.body);
        return {};
      },
    });
    // A whole resource, as a reconcile has it; changed after record() and before the write goes out.
    const sat = {
      ...obj('t-1'),
      spec: { serviceAccount: 'sa' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    };
    const written = rec.record(sat, 'Normal', 'Issued', 'Issued token t-1');
    sat.metadata.name = 'changed-after-record';
    await written;
    expect((bodies[0] as { regarding: unknown }).regarding).toEqual({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      name: 't-1',
      namespace: 'ns',
      uid: 'uid-t-1',
    });
  });
});

describe('EventRecorder drain at shutdown', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes what is queued behind the budget, Warnings first, and gives up after its timeout', async () => {
    const api = fakeApi();
    const { rec } = recorder(api, { burst: 1, qps: 10, maxInFlight: 100 });
    for (let i = 0; i < 30; i++) void rec.record(obj(`t-${i}`), 'Normal', 'Issued', `Issued token t-${i}`);
    void rec.record(obj('bad'), 'Warning', 'IssueFailed', 'upstream said no');
    await vi.advanceTimersByTimeAsync(0);
    expect(api.writes).toHaveLength(1); // the burst of one
    const draining = rec.drain(1000);
    await vi.advanceTimersByTimeAsync(1000);
    const left = await draining;
    // About ten more writes in one second at 10/s, the Warning the first of them; the rest are reported, not waited for.
    expect(api.writes.findIndex((w) => w.type === 'Warning' && w.reason === 'IssueFailed')).toBeLessThanOrEqual(1);
    expect(api.writes.length).toBeGreaterThanOrEqual(10);
    expect(left).toBe(31 - api.writes.length);
  });

  it('returns at once with nothing queued', async () => {
    const { rec } = recorder(fakeApi());
    expect(await rec.drain(10_000)).toBe(0);
  });
});
