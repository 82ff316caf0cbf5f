// What sharding means for the manager's queues (docs/decisions/0015-sharding-over-leases.md). Every replica caches
// everything; its queues admit only the keys of the shards it holds:
//   - tokens by the shard of namespace/name;
//   - provider-level work (Ready checks, in-use finalizers) by the shard of the provider's own namespace/name
//     ("cluster/NAME" for a ClusterCredentialsProvider), and a credential Secret's release by the shard of the
//     Secret's namespace/name: each provider object is worked on by exactly one replica, and that work spreads.
// A shard acquired: its cached keys are enqueued. A shard lost or handed back: its keys are dropped at once, and the
// coordinator releases the Lease only after `drain` (no key of the shard in flight).
import { shardOfKey } from '../kube/sharding/assignment.ts';
import type { WorkQueue } from '../kube/workqueue.ts';

/** What the manager needs of shard ownership (kube/sharding/coordinator.ts ShardCoordinator). */
export interface ShardGate {
  readonly shards: number;
  /** Whether this replica may work on the shard now (checked again right before a mint's journal write). */
  owns(shard: number): boolean;
}

export interface ShardWorkOptions {
  gate: ShardGate;
  queues: WorkQueue[];
  /** Every cached key, per queue in the order of `queues`. */
  keys(): string[][];
}

export class ShardWork {
  readonly #o: ShardWorkOptions;

  constructor(options: ShardWorkOptions) {
    this.#o = options;
  }

  /** The queue admission of a sharded replica. */
  static admit(gate: ShardGate): (key: string) => boolean {
    return (key) => gate.owns(shardOfKey(key, gate.shards));
  }

  acquired(shard: number): void {
    const keys = this.#o.keys();
    this.#o.queues.forEach((queue, i) => {
      for (const key of keys[i] ?? []) if (this.#in(shard)(key)) queue.add(key);
    });
  }

  lost(shard: number): void {
    for (const queue of this.#o.queues) queue.drop(this.#in(shard));
  }

  async drain(shard: number): Promise<void> {
    await Promise.all(this.#o.queues.map((queue) => queue.whenIdle(this.#in(shard))));
  }

  #in(shard: number): (key: string) => boolean {
    const shards = this.#o.gate.shards;
    return (key) => shardOfKey(key, shards) === shard;
  }
}
