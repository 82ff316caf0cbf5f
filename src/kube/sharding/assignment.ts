// Which shard a resource belongs to, and which replica a shard belongs to. Pure functions: every replica computes the
// same answers from the same inputs, so no assignment is ever written down (no ConfigMap, no hash ring to keep).
//
// Both hashes are part of the wire contract between replicas: two versions that disagree on shardOf would let two
// replicas act on one resource during a rolling upgrade. test/unit/kube/sharding.test.ts pins known values.

/** 32-bit FNV-1a over the UTF-8 bytes of `s`, finished with murmur3's fmix32 so that nearby inputs spread evenly. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The shard of a namespaced resource (cluster-scoped: namespace ""): a stable hash of "namespace/name". */
export function shardOf(namespace: string, name: string, shards: number): number {
  return hash32(`${namespace}/${name}`) % shards;
}

/**
 * The shard of a work-queue key: "namespace/name" (tokens, providers), "secret:namespace/name" (credential Secrets:
 * the Secret's own namespace/name) and "cluster/name" (ClusterCredentialsProviders: hashed as the string itself).
 */
export function shardOfKey(key: string, shards: number): number {
  return hash32(key.startsWith('secret:') ? key.slice(7) : key) % shards;
}

/**
 * Rendezvous (highest-random-weight) hashing: the owner of a shard is the member with the highest hash of
 * (member, shard). When a member joins, it takes only the shards it now wins (about 1/n of them); when one leaves,
 * only its shards move, each to the member that ranked second. Undefined when there are no members.
 */
export function ownerOf(shard: number, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const weight = hash32(`${member}\u0000${shard}`);
    // Ties (vanishingly rare) go to the smaller identity, so every replica still agrees.
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = weight;
    }
  }
  return best;
}

/** The owner of every shard, index = shard. */
export function assign(shards: number, members: readonly string[]): Array<string | undefined> {
  return Array.from({ length: shards }, (_, shard) => ownerOf(shard, members));
}
