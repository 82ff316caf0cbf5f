// The shard coordinator against a real API server, driven tick by tick with a manual clock: expiry, takeover, join
// and graceful leave happen when the clock says so, with no sleeps and no timing assertions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/clock.ts';
import { type KubeConfig, kubeRequest } from '../../../src/kube/client.ts';
import { loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { assign } from '../../../src/kube/sharding/assignment.ts';
import { ShardCoordinator } from '../../../src/kube/sharding/coordinator.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';

let cp: ControlPlane;
let kc: KubeConfig;
const SHARDS = 12;
const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

beforeAll(async () => {
  cp = await startControlPlane({ crds: false });
  kc = loadKubeConfig({ kubeconfig: cp.kubeconfigPath });
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

function replica(prefix: string, identity: string, clock: ReturnType<typeof manualClock>) {
  const timeline: string[] = [];
  const drains: Array<() => void> = [];
  let holdDrain = false;
  const coordinator = new ShardCoordinator({
    kubeConfig: kc,
    namespace: 'default',
    identity,
    shards: SHARDS,
    prefix,
    ...timing,
    clock,
    onAcquired: (s) => timeline.push(`+${s}`),
    onLost: (s) => timeline.push(`-${s}`),
    ...(process.env['SHARD_DEBUG']
      ? {
          logger: {
            debug: (o: object, m?: string) => console.log(identity, 'D', m, JSON.stringify(o)),
            info: (o: object, m?: string) => console.log(identity, 'I', m, JSON.stringify(o)),
            warn: (o: object, m?: string) => console.log(identity, 'W', m, JSON.stringify(o)),
          },
        }
      : {}),
    drain: () => (holdDrain ? new Promise<void>((r) => drains.push(r)) : Promise.resolve()),
  });
  return {
    identity,
    coordinator,
    timeline,
    holdDrains(on: boolean) {
      holdDrain = on;
      if (!on) for (const r of drains.splice(0)) r();
    },
  };
}

async function holders(prefix: string): Promise<Map<number, string>> {
  const list = await kubeRequest<{ items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }> }>(
    kc,
    { method: 'GET', path: '/apis/coordination.k8s.io/v1/namespaces/default/leases' },
  );
  const out = new Map<number, string>();
  for (const l of list.items) {
    const m = l.metadata.name.match(new RegExp(`^${prefix}-shard-(\\d+)$`));
    if (m && l.spec.holderIdentity) out.set(Number(m[1]), l.spec.holderIdentity);
  }
  return out;
}

async function tickAll(rs: Array<ReturnType<typeof replica>>, rounds = 1): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const r of rs) await r.coordinator.testing.tick();
}

/**
 * Ticks (without moving the clock) until the shards are balanced, at most 10 rounds: a hand-back releases its Lease
 * asynchronously, after the shard's work drained, so the new owner may need one more tick.
 */
async function settle(prefix: string, rs: Array<ReturnType<typeof replica>>): Promise<void> {
  for (let round = 0; ; round++) {
    try {
      await expectBalanced(prefix, rs);
      return;
    } catch (error) {
      if (round === 10) throw error;
    }
    await new Promise((r) => setTimeout(r, 50));
    await tickAll(rs);
  }
}

/** Every shard held by exactly one replica, the one rendezvous hashing names, per the Leases and per owns(). */
async function expectBalanced(prefix: string, rs: Array<ReturnType<typeof replica>>): Promise<void> {
  const target = assign(
    SHARDS,
    rs.map((r) => r.identity),
  );
  const leases = await holders(prefix);
  for (let s = 0; s < SHARDS; s++) {
    expect(leases.get(s), `shard ${s}`).toBe(target[s]);
    const owners = rs.filter((r) => r.coordinator.owns(s)).map((r) => r.identity);
    expect(owners, `owners of shard ${s}`).toEqual([target[s]]);
  }
}

describe('ShardCoordinator against a real API server', () => {
  it('spreads the shards over three replicas, takes a dead one’s over once its Leases expire, rebalances on join and leave', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const prefix = 'ts1';
    const [a, b, c] = [replica(prefix, 'a', clock), replica(prefix, 'b', clock), replica(prefix, 'c', clock)];
    // Round 1: member Leases appear; round 2: everyone sees everyone and takes its shards.
    await tickAll([a, b, c], 3);
    await settle(prefix, [a, b, c]);
    expect(a.coordinator.members()).toEqual(['a', 'b', 'c']);

    // c dies: no more ticks, no release. Until its Leases expire (by the others' clock) nobody takes its shards.
    const ofC = c.coordinator.owned();
    expect(ofC.length).toBeGreaterThan(0);
    clock.advance(timing.leaseDurationMs - 1000);
    await tickAll([a, b]);
    for (const s of ofC) expect(a.coordinator.owns(s) || b.coordinator.owns(s)).toBe(false);
    // c itself stops at its renew deadline, before anyone may consider its Leases expired.
    expect(c.coordinator.owned()).toEqual([]);
    clock.advance(2000);
    await tickAll([a, b], 2);
    await expectBalanced(prefix, [a, b]);
    expect(a.coordinator.members()).toEqual(['a', 'b']);

    // d joins: a and b hand back exactly the shards d now wins, and keep the others without interruption.
    const d = replica(prefix, 'd', clock);
    const before = [...a.coordinator.owned(), ...b.coordinator.owned()];
    await tickAll([d, a, b, d], 2);
    await settle(prefix, [a, b, d]);
    const moved = assign(SHARDS, ['a', 'b', 'd']).flatMap((o, s) => (o === 'd' ? [s] : []));
    expect(d.coordinator.owned()).toEqual(moved);
    expect(before.filter((s) => !moved.includes(s)).length).toBe(SHARDS - moved.length);
    for (const s of moved) expect(d.timeline).toContain(`+${s}`);

    // a leaves gracefully: its shards are released and its member Lease deleted, so b and d take over at once.
    await a.coordinator.stop();
    await tickAll([b, d], 2);
    await settle(prefix, [b, d]);
    await b.coordinator.stop();
    await d.coordinator.stop();
  }, 120_000);

  it('keeps a shard held while its work drains: the new owner waits, nobody works on it meanwhile', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const prefix = 'ts2';
    const a = replica(prefix, 'a', clock);
    await tickAll([a], 2);
    expect(a.coordinator.owned().length).toBe(SHARDS);
    a.holdDrains(true);
    const b = replica(prefix, 'b', clock);
    await tickAll([b, a, b], 1);
    const toB = assign(SHARDS, ['a', 'b']).flatMap((o, s) => (o === 'b' ? [s] : []));
    // a stopped working on them at once (onLost) but still holds the Leases while their work is in flight.
    for (const s of toB) {
      expect(a.coordinator.owns(s)).toBe(false);
      expect(b.coordinator.owns(s)).toBe(false);
      expect(a.timeline).toContain(`-${s}`);
    }
    expect([...(await holders(prefix)).entries()].filter(([s]) => toB.includes(s)).every(([, h]) => h === 'a')).toBe(
      true,
    );
    a.holdDrains(false);
    await settle(prefix, [a, b]);
    await a.coordinator.stop();
    await b.coordinator.stop();
  }, 60_000);

  it('stops working on its shards at the renew deadline when cut off, and takes them back (keys enqueued) after', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const prefix = 'ts4';
    const a = replica(prefix, 'a', clock);
    await tickAll([a], 2);
    expect(a.coordinator.owned().length).toBe(SHARDS);
    a.coordinator.testing.partition(true);
    clock.advance(timing.retryPeriodMs);
    await tickAll([a]);
    expect(a.coordinator.owned().length).toBe(SHARDS); // within the deadline: still working
    clock.advance(timing.renewDeadlineMs);
    // The deadline passed: owns() says no at once, before the next tick notices.
    expect(a.coordinator.owned()).toEqual([]);
    await tickAll([a]);
    for (let s = 0; s < SHARDS; s++) expect(a.timeline).toContain(`-${s}`);
    a.coordinator.testing.partition(false);
    await tickAll([a], 2);
    expect(a.coordinator.owned().length).toBe(SHARDS);
    for (let s = 0; s < SHARDS; s++) expect(a.timeline.filter((e) => e === `+${s}`).length).toBe(2);
    await a.coordinator.stop();
  }, 60_000);

  it('never gives one shard to two replicas that disagree on nothing but timing: the resourceVersion decides', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
    const prefix = 'ts3';
    const rs = ['a', 'b', 'c'].map((id) => replica(prefix, id, clock));
    // All tick concurrently, many times: every acquisition races the others.
    for (let i = 0; i < 4; i++) await Promise.all(rs.map((r) => r.coordinator.testing.tick()));
    await tickAll(rs, 1);
    for (let s = 0; s < SHARDS; s++) expect(rs.filter((r) => r.coordinator.owns(s)).length, `shard ${s}`).toBe(1);
    await Promise.all(rs.map((r) => r.coordinator.stop()));
  }, 60_000);
});
