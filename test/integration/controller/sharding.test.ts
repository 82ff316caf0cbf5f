// Sharding as production runs it: three `tokensync controller --sharding` processes on one API server, each holding
// only the chart's RBAC (rendered with sharding.enabled=true). All tokens Ready, exactly one mint per token, each
// shard Lease held by exactly one live replica; then one replica is SIGKILLed and the others take its shards over
// once its Leases expire, and tokens created in those shards become Ready, still with one mint each.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../../../src/kube/client.ts';
import { assign, shardOf } from '../../../src/kube/sharding/assignment.ts';
import { RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { ControllerProcess } from './process.ts';

const h = new Harness();
const SHARDS = 12;
const NAMESPACES = ['shard-a', 'shard-b', 'shard-c'];
const PER_NAMESPACE = 20;
const controllers: ControllerProcess[] = [];

function start(): ControllerProcess {
  const c = new ControllerProcess(h.controllerKubeconfigPath, [
    '--sharding',
    '--shards',
    String(SHARDS),
    '--leader-election-namespace',
    RELEASE_NAMESPACE,
    // Short Leases so the takeover happens in seconds; the ratios match the defaults (15 s / 10 s / 2 s).
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

async function shardHolders(): Promise<Map<number, string>> {
  const list = await kubeRequest<{ items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }> }>(
    h.kc,
    { method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${RELEASE_NAMESPACE}/leases` },
  );
  const out = new Map<number, string>();
  for (const lease of list.items) {
    const m = /^tokensync-shard-(\d+)$/.exec(lease.metadata.name);
    if (m && lease.spec.holderIdentity) out.set(Number(m[1]), lease.spec.holderIdentity);
  }
  return out;
}

const pidOf = (identity: string) => Number(identity.split('_').pop());
const alive = (c: ControllerProcess) => c.child.exitCode === null && c.child.signalCode === null;

async function shardsOwnedMetric(c: ControllerProcess): Promise<number> {
  const text = await (await request(`${c.metricsUrl}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith('tokensync_shards_owned '));
  return Number(line?.split(' ').pop());
}

/** Every shard held by a live replica, and each replica's gauge agrees with the Leases. */
async function everyShardHeldByALiveReplica(): Promise<Map<number, string> | undefined> {
  const holders = await shardHolders();
  const live = controllers.filter(alive);
  for (let s = 0; s < SHARDS; s++) {
    const holder = holders.get(s);
    if (!holder || !live.some((c) => c.child.pid === pidOf(holder))) return undefined;
  }
  for (const c of live) {
    const held = [...holders.values()].filter((id) => pidOf(id) === c.child.pid).length;
    if ((await shardsOwnedMetric(c)) !== held) return undefined;
  }
  return holders;
}

/** The upstream names of one resource's tokens share "<tokenName>-<uid8>-r"; more than one live is a double mint. */
function liveTokensPerResource(live: Array<{ name: string }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of live) {
    const resource = t.name.replace(/-r\d+$/, '');
    counts.set(resource, (counts.get(resource) ?? 0) + 1);
  }
  return counts;
}

beforeAll(async () => {
  await h.start({ chart: ['sharding.enabled=true'] });
  for (const ns of NAMESPACES) await h.setupNamespace(ns);
}, 180_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.kill('SIGKILL')));
  await h.stop();
});

describe('sharding across three controller processes', () => {
  it('all tokens Ready with one mint each, every shard held once, and a SIGKILLed replica’s shards taken over', async () => {
    // Sampled all along: a resource with two live tokens at any instant (no rotation happens here) is a double mint.
    let worst = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const counts = liveTokensPerResource(await h.liveTokens());
        worst = Math.max(worst, ...counts.values(), 0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const [a, b, c] = [start(), start(), start()];
    await Promise.all([a.synced(), b.synced(), c.synced()]);
    const names: Array<[string, string]> = [];
    for (const ns of NAMESPACES) for (let i = 0; i < PER_NAMESPACE; i++) names.push([ns, `tok-${i}`]);
    await Promise.all(names.map(([ns, name]) => h.createToken(ns, name)));
    for (const [ns, name] of names) {
      await waitFor(`${ns}/${name} Ready`, async () => isReady(await h.getToken(ns, name)), 120_000);
    }
    expect((await h.stats()).mints).toBe(names.length);
    expect((await h.liveTokens()).length).toBe(names.length);

    const holders = await waitFor('every shard held by a live replica', everyShardHeldByALiveReplica, 30_000);
    // Work was shared: more than one replica holds shards, and every replica that issued holds a shard.
    const holding = new Set([...holders.values()].map(pidOf));
    expect(holding.size).toBeGreaterThan(1);
    for (const proc of [a, b, c]) {
      if (proc.output.some((l) => l.includes('"msg":"issuing"'))) expect(holding.has(proc.child.pid!)).toBe(true);
    }

    // SIGKILL the replica that holds the most shards: its Leases are neither renewed nor released.
    const victim = [a, b, c].sort(
      (x, y) =>
        [...holders.values()].filter((id) => pidOf(id) === y.child.pid).length -
        [...holders.values()].filter((id) => pidOf(id) === x.child.pid).length,
    )[0]!;
    const orphaned = [...holders.entries()].filter(([, id]) => pidOf(id) === victim.child.pid).map(([s]) => s);
    expect(orphaned.length).toBeGreaterThan(0);
    await victim.kill('SIGKILL');
    const killedAt = Date.now();

    // New tokens that fall into the dead replica's shards.
    const late: Array<[string, string]> = [];
    for (let i = 0; late.length < 10; i++) {
      const ns = NAMESPACES[i % NAMESPACES.length]!;
      if (orphaned.includes(shardOf(ns, `late-${i}`, SHARDS))) late.push([ns, `late-${i}`]);
    }
    await Promise.all(late.map(([ns, name]) => h.createToken(ns, name)));
    const after = await waitFor('the dead replica’s shards taken over', everyShardHeldByALiveReplica, 60_000);
    // A figure, not an assertion: expected about leaseDuration (4 s) plus up to two retry periods (0.5 s each).
    console.log(
      `sharding: ${orphaned.length} shards of the SIGKILLed replica taken over after ${Date.now() - killedAt} ms`,
    );
    for (const s of orphaned) expect(pidOf(after.get(s)!)).not.toBe(victim.child.pid);
    for (const [ns, name] of [...names, ...late]) {
      await waitFor(`${ns}/${name} Ready`, async () => isReady(await h.getToken(ns, name)), 60_000);
    }

    // No double mint, ever: one mint per resource, one live token per resource.
    expect((await h.stats()).mints).toBe(names.length + late.length);
    const live = await h.liveTokens();
    expect(live.length).toBe(names.length + late.length);
    expect([...liveTokensPerResource(live).values()].every((n) => n === 1)).toBe(true);
    sampling = false;
    await sampler;
    expect(worst).toBe(1);
    // The survivors saw the dead replica's member Lease expire and deleted it.
    await waitFor('the dead replica’s member Lease deleted', async () => {
      const list = await kubeRequest<{ items: Array<{ spec: { holderIdentity?: string } }> }>(h.kc, {
        method: 'GET',
        path: `/apis/coordination.k8s.io/v1/namespaces/${RELEASE_NAMESPACE}/leases?labelSelector=tokensync.io/lease-role=member`,
      });
      return list.items.every((l) => pidOf(l.spec.holderIdentity ?? '_0') !== victim.child.pid);
    });
  }, 400_000);

  it('hands its shards back on SIGTERM (released after their work drained), exits 0, and the survivor holds them all', async () => {
    const live = controllers.filter(alive);
    expect(live.length).toBe(2);
    const [leaving, staying] = live as [ControllerProcess, ControllerProcess];
    await leaving.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    const holders = await waitFor('every shard held by the survivor', everyShardHeldByALiveReplica, 30_000);
    expect(new Set(holders.values()).size).toBe(1);
    expect(pidOf([...holders.values()][0]!)).toBe(staying.child.pid);
    expect(leaving.output.some((l) => l.includes('handed shard back'))).toBe(true);
    await h.createToken('shard-a', 'after-leave');
    await waitFor('after-leave Ready', async () => isReady(await h.getToken('shard-a', 'after-leave')), 60_000);
  }, 120_000);

  it('a replica that joins takes exactly the shards rendezvous hashing gives it, and works on them', async () => {
    const staying = controllers.filter(alive);
    expect(staying.length).toBe(1);
    const joining = start();
    await joining.synced();
    const identities = async () => {
      const list = await kubeRequest<{ items: Array<{ spec: { holderIdentity?: string } }> }>(h.kc, {
        method: 'GET',
        path: `/apis/coordination.k8s.io/v1/namespaces/${RELEASE_NAMESPACE}/leases?labelSelector=tokensync.io/lease-role=member`,
      });
      return list.items.map((l) => l.spec.holderIdentity ?? '').filter(Boolean);
    };
    const holders = await waitFor(
      'the shards spread over both replicas as rendezvous hashing says',
      async () => {
        const members = await identities();
        if (members.length !== 2) return undefined;
        const target = assign(SHARDS, members);
        const held = await everyShardHeldByALiveReplica();
        return held && target.every((owner, s) => held.get(s) === owner) ? held : undefined;
      },
      30_000,
    );
    const ofJoining = [...holders.entries()].filter(([, id]) => pidOf(id) === joining.child.pid).map(([s]) => s);
    // A token in one of the joiner's shards (if it won any: with 12 shards over 2 it almost surely did).
    if (ofJoining.length > 0) {
      let i = 0;
      while (!ofJoining.includes(shardOf('shard-b', `joined-${i}`, SHARDS))) i++;
      await h.createToken('shard-b', `joined-${i}`);
      await waitFor(
        'the joiner’s token Ready',
        async () => isReady(await h.getToken('shard-b', `joined-${i}`)),
        60_000,
      );
      expect(joining.output.some((l) => l.includes('"msg":"issuing"') && l.includes(`joined-${i}`))).toBe(true);
    }
  }, 120_000);
});
