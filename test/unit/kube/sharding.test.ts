import { describe, expect, it } from 'vitest';
import { assign, hash32, ownerOf, shardOf, shardOfKey } from '../../../src/kube/sharding/assignment.ts';
import { memberLeaseName } from '../../../src/kube/sharding/coordinator.ts';

const members = (n: number) => Array.from({ length: n }, (_, i) => `pod-${i}_${1000 + i}`);

describe('shardOf', () => {
  it('is pinned: replicas of two versions must agree on every key during a rolling upgrade', () => {
    // FNV-1a + fmix32. Changing these values breaks the exclusivity of shards across an upgrade.
    expect(hash32('')).toBe(2872998923);
    expect(hash32('a')).toBe(444641715);
    expect(hash32('prod/reporting')).toBe(370411112);
    expect(shardOf('prod', 'reporting', 16)).toBe(8);
    expect(shardOf('default', 't-0', 16)).toBe(9);
  });

  it('maps queue keys to the shard of the object they name', () => {
    expect(shardOfKey('prod/reporting', 16)).toBe(shardOf('prod', 'reporting', 16));
    expect(shardOfKey('secret:prod/admin', 16)).toBe(shardOf('prod', 'admin', 16));
    expect(shardOfKey('cluster/shared', 16)).toBe(hash32('cluster/shared') % 16);
  });

  it('spreads 10,000 names evenly over 16 shards (each within 20% of the mean)', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 10_000; i++) counts[shardOf(`ns-${i % 37}`, `token-${i}`, 16)]!++;
    for (const c of counts) expect(Math.abs(c - 625)).toBeLessThan(125);
  });
});

describe('rendezvous assignment', () => {
  it('is the same whatever order the members are listed in', () => {
    const m = members(5);
    expect(assign(64, m)).toEqual(assign(64, [...m].reverse()));
  });

  it('gives every shard to a member, and none without members', () => {
    expect(assign(16, members(3)).every((o) => o !== undefined)).toBe(true);
    expect(ownerOf(3, [])).toBeUndefined();
  });

  it('moves only the joining member’s shards when one joins', () => {
    const before = assign(256, members(3));
    const after = assign(256, members(4));
    const joined = members(4)[3]!;
    const moved = before.filter((o, s) => after[s] !== o);
    for (let s = 0; s < 256; s++) if (after[s] !== before[s]) expect(after[s]).toBe(joined);
    // About a quarter move, never everything.
    expect(moved.length).toBeGreaterThan(256 / 4 / 2);
    expect(moved.length).toBeLessThan((256 / 4) * 2);
  });

  it('moves only the leaving member’s shards when one leaves', () => {
    const all = members(4);
    const before = assign(256, all);
    const gone = all[1]!;
    const after = assign(
      256,
      all.filter((m) => m !== gone),
    );
    for (let s = 0; s < 256; s++) {
      if (before[s] !== gone) expect(after[s]).toBe(before[s]);
      else expect(after[s]).not.toBe(gone);
    }
  });

  it('balances 256 shards over 4 members within 35% of the mean', () => {
    const counts = new Map<string, number>();
    for (const o of assign(256, members(4))) counts.set(o!, (counts.get(o!) ?? 0) + 1);
    for (const c of counts.values()) expect(Math.abs(c - 64)).toBeLessThan(64 * 0.35);
  });
});

describe('member Lease names', () => {
  it('are DNS subdomains that keep a readable part and differ for different identities', () => {
    const name = memberLeaseName('tokensync', 'Tokensync-7d9f_1234');
    expect(name).toMatch(/^tokensync-member-tokensync-7d9f-1234-[0-9a-f]{8}$/);
    expect(memberLeaseName('tokensync', 'a_1')).not.toBe(memberLeaseName('tokensync', 'a-1'));
    expect(memberLeaseName('t', 'x'.repeat(300)).length).toBeLessThanOrEqual(63);
  });
});
