import { describe, expect, it } from 'vitest';
import { type ShardGate, ShardWork } from '../../../src/controller/shard-work.ts';
import { shardOfKey } from '../../../src/kube/sharding/assignment.ts';
import { WorkQueue } from '../../../src/kube/workqueue.ts';

const SHARDS = 4;

function setup(tokenKeys: string[], providerKeys: string[]) {
  const owned = new Set<number>();
  const gate: ShardGate = { shards: SHARDS, owns: (s) => owned.has(s) };
  const admit = ShardWork.admit(gate);
  const tokens = new WorkQueue({ admit });
  const providers = new WorkQueue({ admit });
  const work = new ShardWork({ gate, queues: [tokens, providers], keys: () => [tokenKeys, providerKeys] });
  return { owned, tokens, providers, work };
}

async function drainAll(q: WorkQueue): Promise<string[]> {
  const out: string[] = [];
  while (q.len() > 0) {
    const key = (await q.get())!;
    out.push(key);
    q.done(key);
  }
  return out.sort();
}

// Keys chosen so that each shard has some (the hash is pinned in test/unit/kube/sharding.test.ts).
const tokenKeys = Array.from({ length: 40 }, (_, i) => `ns-${i % 3}/tok-${i}`);
const providerKeys = ['ns-0/reference', 'cluster/shared', 'secret:ns-1/admin', 'secret:ns-2/admin'];
const inShard = (keys: string[], s: number) => keys.filter((k) => shardOfKey(k, SHARDS) === s).sort();

describe('ShardWork', () => {
  it('admits nothing until a shard is held, then only that shard’s keys', async () => {
    const { owned, tokens, work } = setup(tokenKeys, providerKeys);
    for (const k of tokenKeys) tokens.add(k);
    expect(tokens.len()).toBe(0);
    owned.add(1);
    work.acquired(1);
    expect(inShard(tokenKeys, 1).length).toBeGreaterThan(0);
    expect(inShard(tokenKeys, 1).length).toBeLessThan(tokenKeys.length);
    expect(await drainAll(tokens)).toEqual(inShard(tokenKeys, 1));
    for (const k of tokenKeys) tokens.add(k);
    expect(await drainAll(tokens)).toEqual(inShard(tokenKeys, 1));
  });

  it('enqueues every cached key of an acquired shard, provider keys by their object’s shard', async () => {
    const { owned, tokens, providers, work } = setup(tokenKeys, providerKeys);
    for (let s = 0; s < SHARDS; s++) {
      owned.add(s);
      work.acquired(s);
    }
    expect(await drainAll(tokens)).toEqual([...tokenKeys].sort());
    expect(await drainAll(providers)).toEqual([...providerKeys].sort());
    expect(shardOfKey('secret:ns-1/admin', SHARDS)).toBe(shardOfKey('ns-1/admin', SHARDS));
  });

  it('drops a lost shard’s queued and scheduled keys, keeps the others, and drains its keys in flight', async () => {
    const { owned, tokens, work } = setup(tokenKeys, providerKeys);
    for (let s = 0; s < SHARDS; s++) {
      owned.add(s);
      work.acquired(s);
    }
    const first = (await tokens.get())!;
    const lostShard = shardOfKey(first, SHARDS);
    for (const k of inShard(tokenKeys, lostShard)) tokens.addAfter(k, 60_000);
    owned.delete(lostShard);
    work.lost(lostShard);
    let drained = false;
    const draining = work.drain(lostShard).then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false); // `first` is still in flight
    tokens.done(first);
    await draining;
    const rest = await drainAll(tokens);
    expect(rest.some((k) => shardOfKey(k, SHARDS) === lostShard)).toBe(false);
    expect(rest).toEqual(tokenKeys.filter((k) => k !== first && shardOfKey(k, SHARDS) !== lostShard).sort());
    expect(tokens.waitingLen()).toBe(0);
    tokens.shutDown();
  });
});
