// Shard ownership over coordination.k8s.io Leases, on Kubernetes itself (docs/decisions/0015-sharding-over-leases.md):
//   - every replica holds one member Lease, <prefix>-member-<identity>, renewed every retryPeriod: the live members
//     are those whose member Lease changed within its duration, by our own clock (lease.ts LeaseObservation);
//   - each shard i has a Lease <prefix>-shard-<i>. Its target owner is computed, never stored: rendezvous hashing of
//     the shard over the live members (assignment.ts), so every replica agrees and a join or leave moves few shards;
//   - a replica acquires the shards it is the target of once they are free (released) or expired, renews those it
//     holds, and hands back those whose target moved: stop admitting their keys, wait for their work in flight,
//     then release the Lease (empty holder) so the new target takes it on its next tick;
//   - a shard whose renewal has not succeeded for renewDeadline is lost at once: `owns()` turns false the moment the
//     deadline passes, before any other replica may consider the Lease expired (renewDeadline < leaseDuration);
//   - every acquisition is a replace with the listed resourceVersion: two replicas can never both win one shard.
// One LIST per tick (the Leases labelled tokensync.io/sharding=<prefix>) shows every member and shard Lease, so a
// dead replica's shards are seen expiring from its last renewal, not from the first time someone tries them.
import { type Clock, realClock, Sleeper, withTimeout } from '../../clock.ts';
import type { KubeConfig } from '../client.ts';
import { LeaseLock, type LeaseLogger, LeaseObservation, noopLeaseLogger, recordOf } from '../lease.ts';
import { type Lease, LeaseApi } from '../leases.ts';
import { assign, hash32 } from './assignment.ts';

export const SHARDING_LABEL = 'tokensync.io/sharding';
export const LEASE_ROLE_LABEL = 'tokensync.io/lease-role';
export const SHARD_COUNT_LABEL = 'tokensync.io/shards';

export interface ShardCoordinatorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Unique per process (pod name plus pid): the holder identity of its Leases. */
  identity: string;
  shards: number;
  /** Lease names start with this (default "tokensync"): <prefix>-shard-<i>, <prefix>-member-<identity>. */
  prefix?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: LeaseLogger;
  /** A shard was acquired: enqueue its keys. */
  onAcquired(shard: number): void;
  /** A shard is no longer ours (moving away or lost): stop admitting its keys at once. */
  onLost(shard: number): void;
  /** Resolves when no work of the shard is in flight; the Lease is released after it (at most renewDeadline later). */
  drain(shard: number): Promise<void>;
  /** The number of shards held changed (the tokensync_shards_owned gauge). */
  onOwnedChange?(owned: number): void;
}

interface Held {
  lock: LeaseLock;
  lastRenew: number;
  /** Handing back: no longer admitted, renewed until its work in flight is done, then released. */
  releasing: boolean;
}

/** Member Lease names are DNS subdomains: a readable part of the identity plus a hash of all of it. */
export function memberLeaseName(prefix: string, identity: string): string {
  const readable = identity
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${prefix}-member-${readable ? `${readable}-` : ''}${hash32(identity).toString(16).padStart(8, '0')}`;
}

export class ShardCoordinator {
  readonly shards: number;
  readonly #o: Required<Pick<ShardCoordinatorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> &
    ShardCoordinatorOptions;
  readonly #prefix: string;
  readonly #api: LeaseApi;
  readonly #clock: Clock;
  readonly #log: LeaseLogger;
  readonly #sleeper: Sleeper;
  readonly #member: LeaseLock;
  #memberRenewed = Number.NEGATIVE_INFINITY;
  readonly #members = new Map<string, LeaseObservation>();
  readonly #shardObservations = new Map<number, LeaseObservation>();
  readonly #held = new Map<number, Held>();
  #liveMembers: string[] = [];
  #stopped = false;
  #running: Promise<void> | undefined;
  #partitioned = false;
  #mismatchLogged = false;

  constructor(options: ShardCoordinatorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) throw new Error('renewDeadlineMs must exceed 1.2 × retryPeriodMs');
    if (!(Number.isInteger(options.shards) && options.shards >= 1)) throw new Error('shards must be an integer ≥ 1');
    this.#o = { ...options, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.shards = options.shards;
    this.#prefix = options.prefix ?? 'tokensync';
    this.#api = new LeaseApi(options.kubeConfig, options.namespace);
    this.#clock = options.clock ?? realClock;
    this.#log = options.logger ?? noopLeaseLogger;
    this.#sleeper = new Sleeper(this.#clock);
    this.#member = new LeaseLock({
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      name: memberLeaseName(this.#prefix, options.identity),
      identity: options.identity,
      leaseDurationMs,
      labels: {
        [SHARDING_LABEL]: this.#prefix,
        [LEASE_ROLE_LABEL]: 'member',
        [SHARD_COUNT_LABEL]: String(options.shards),
      },
      clock: this.#clock,
      logger: this.#log,
    });
  }

  shardLeaseName(shard: number): string {
    return `${this.#prefix}-shard-${shard}`;
  }

  /** Whether this replica may work on the shard now: held, not being handed back, renewed within renewDeadline. */
  owns(shard: number): boolean {
    const held = this.#held.get(shard);
    return !!held && !held.releasing && this.#clock.now() - held.lastRenew < this.#o.renewDeadlineMs;
  }

  /** The shards this replica may work on now, ascending. */
  owned(): number[] {
    return [...this.#held.keys()].filter((s) => this.owns(s)).sort((a, b) => a - b);
  }

  /** The members this replica saw alive at its last tick (itself included once its member Lease is renewed). */
  members(): string[] {
    return [...this.#liveMembers];
  }

  /** Fault injection for tests: every Lease call fails as if the API server were unreachable. */
  readonly testing = {
    partition: (on: boolean): void => {
      this.#partitioned = on;
      this.#member.partitioned = on;
      for (const h of this.#held.values()) h.lock.partitioned = on;
    },
    /** One tick now (unit tests drive the loop with a manual clock). */
    tick: (): Promise<void> => this.#tick(),
  };

  /** Ticks every retryPeriod until stop(). */
  run(): Promise<void> {
    if (this.#running) throw new Error('shard coordinator already running');
    this.#stopped = false;
    this.#sleeper.start();
    this.#running = (async () => {
      while (!this.#stopped) {
        await this.#tick().catch((err) => this.#log.warn({ err: String(err) }, 'shard tick failed'));
        await this.#sleeper.sleep(this.#o.retryPeriodMs);
      }
    })();
    return this.#running;
  }

  /** Hands every shard back (after its work in flight) and deletes the member Lease, so the others rebalance at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleeper.stop();
    await this.#running;
    this.#running = undefined;
    await Promise.all([...this.#held.keys()].map((shard) => this.#handBack(shard)));
    await this.#member.delete();
  }

  async #tick(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.#o;
    const timeout = Math.max(retryPeriodMs, renewDeadlineMs / 2);
    // A failed list still renews what we hold (one GET each); it only stops acquisitions and hand-backs this tick.
    const listing = this.#list().catch((err: unknown) => {
      this.#log.debug({ err: String(err) }, 'listing shard Leases failed');
      return false as const;
    });
    const listed = await withTimeout(this.#clock, listing, timeout);
    const byName = new Map((listed || []).map((l) => [l.metadata?.name ?? '', l]));

    // Our own membership first: without it we must not take anything new.
    const tickStart = this.#clock.now();
    if (await withTimeout(this.#clock, this.#member.tryAcquireOrRenew(byName.get(this.#member.name)), timeout)) {
      this.#memberRenewed = tickStart;
    }
    const selfLive = this.#clock.now() - this.#memberRenewed < renewDeadlineMs;

    // Renew what we hold (in parallel: one slow shard must not starve the others past their deadline).
    await Promise.all(
      [...this.#held.entries()].map(async ([shard, held]) => {
        const started = this.#clock.now();
        const lease = listed ? byName.get(this.shardLeaseName(shard)) : undefined;
        if (listed && !lease) return; // deleted by someone: cannot be ours any more; the deadline will tell
        const renewed = await withTimeout(this.#clock, held.lock.tryAcquireOrRenew(lease), timeout);
        // A renewal that lands after the deadline does not revive the shard: owns() already said no meanwhile (and
        // keys were refused), so it is lost below and acquired afresh, which enqueues its keys again.
        if (renewed && this.#clock.now() - held.lastRenew < renewDeadlineMs) held.lastRenew = started;
      }),
    );
    for (const [shard, held] of this.#held) {
      if (this.#clock.now() - held.lastRenew >= renewDeadlineMs) {
        this.#held.delete(shard);
        this.#log.warn({ shard, identity: this.#o.identity }, 'failed to renew shard lease; stopped working on it');
        if (!held.releasing) this.#o.onLost(shard);
        this.#ownedChanged();
      }
    }
    if (!listed) return;

    // Who is alive, and who should own what.
    const live = new Set<string>();
    let mismatch: string | undefined;
    for (const lease of byName.values()) {
      const labels = lease.metadata?.labels ?? {};
      if (labels[LEASE_ROLE_LABEL] !== 'member') continue;
      const name = lease.metadata!.name!;
      const seen = observationOf(this.#members, name, this.#clock);
      seen.observe(recordOf(lease));
      const holder = seen.liveHolder();
      if (holder === undefined) {
        // Expired by our clock (a replica that died): delete it, so a replica that joins later does not wait a
        // lease duration before it counts it dead. A member that was only partitioned re-creates it when it renews.
        void this.#deleteExpired(lease);
        continue;
      }
      if (holder === this.#o.identity) continue;
      live.add(holder);
      if (labels[SHARD_COUNT_LABEL] !== String(this.shards)) mismatch = `${holder} (${labels[SHARD_COUNT_LABEL]})`;
    }
    for (const name of this.#members.keys()) if (!byName.has(name)) this.#members.delete(name);
    if (selfLive) live.add(this.#o.identity);
    this.#liveMembers = [...live].sort();
    const target = assign(this.shards, this.#liveMembers);
    this.#log.debug(
      { identity: this.#o.identity, members: this.#liveMembers, held: [...this.#held.keys()] },
      'shard tick',
    );

    for (let shard = 0; shard < this.shards; shard++) {
      const lease = byName.get(this.shardLeaseName(shard));
      const seen = observationOf(this.#shardObservations, shard, this.#clock);
      if (lease) seen.observe(recordOf(lease));
    }

    // Hand back what moved to another live member.
    for (const [shard, held] of this.#held) {
      if (!held.releasing && target[shard] !== this.#o.identity) void this.#handBack(shard);
    }

    // Take what is ours, once free or expired. Never while the members disagree on the shard count: the same key
    // would hash to different shards on two replicas.
    if (mismatch) {
      if (!this.#mismatchLogged) {
        this.#log.warn({ shards: this.shards, other: mismatch }, 'a live member uses another shard count; waiting');
        this.#mismatchLogged = true;
      }
      return;
    }
    this.#mismatchLogged = false;
    // Take nothing before our own member Lease shows in a list: replicas starting together see each other first,
    // instead of the first one taking every shard and handing most back a tick later.
    if (!selfLive || !byName.has(this.#member.name)) return;
    const wanted = target.flatMap((owner, shard) =>
      owner === this.#o.identity && !this.#held.has(shard) ? [shard] : [],
    );
    await Promise.all(
      wanted.map(async (shard) => {
        const observed = this.#shardObservations.get(shard)!.liveHolder();
        if (observed !== undefined && observed !== this.#o.identity) return; // still held by someone
        const lock = this.#shardLock(shard);
        const started = this.#clock.now();
        const lease = byName.get(this.shardLeaseName(shard));
        if (!(await withTimeout(this.#clock, lock.tryAcquireOrRenew(lease), timeout))) return;
        if (this.#stopped || this.#held.has(shard)) return;
        this.#held.set(shard, { lock, lastRenew: started, releasing: false });
        this.#log.info({ shard, identity: this.#o.identity }, 'acquired shard');
        this.#o.onAcquired(shard);
        this.#ownedChanged();
      }),
    );
  }

  #shardLock(shard: number): LeaseLock {
    const lock = new LeaseLock({
      kubeConfig: this.#o.kubeConfig,
      namespace: this.#o.namespace,
      name: this.shardLeaseName(shard),
      identity: this.#o.identity,
      leaseDurationMs: this.#o.leaseDurationMs,
      labels: { [SHARDING_LABEL]: this.#prefix, [LEASE_ROLE_LABEL]: 'shard' },
      // What every tick saw of this Lease: a dead holder's Lease expires counted from its last change, not from now.
      observation: observationOf(this.#shardObservations, shard, this.#clock),
      clock: this.#clock,
      logger: this.#log,
    });
    lock.partitioned = this.#partitioned;
    return lock;
  }

  /** Stop admitting, wait for the shard's work in flight (at most renewDeadline), release the Lease. */
  async #handBack(shard: number): Promise<void> {
    const held = this.#held.get(shard);
    if (!held) return;
    if (!held.releasing) {
      held.releasing = true;
      this.#o.onLost(shard);
      this.#ownedChanged();
    }
    await withTimeout(this.#clock, this.#o.drain(shard), this.#o.renewDeadlineMs);
    // Lost meanwhile (renewals failed): nothing to release.
    if (this.#held.get(shard) !== held) return;
    await held.lock.release();
    this.#held.delete(shard);
    this.#log.info({ shard, identity: this.#o.identity }, 'handed shard back');
  }

  #ownedChanged(): void {
    try {
      this.#o.onOwnedChange?.(this.owned().length);
    } catch (err) {
      this.#log.warn({ err: String(err) }, 'onOwnedChange failed');
    }
  }

  async #deleteExpired(lease: Lease): Promise<void> {
    const name = lease.metadata.name;
    try {
      if (this.#partitioned || name === this.#member.name) return;
      await this.#api.delete(name, lease.metadata.resourceVersion);
      this.#members.delete(name);
      this.#log.info({ lease: name }, 'deleted the expired member Lease of a replica gone');
    } catch (err) {
      // 404 (another member was faster) or 409 (it renewed after all): nothing to do.
      this.#log.debug({ lease: name, err: String(err) }, 'member Lease not deleted');
    }
  }

  async #list(): Promise<Lease[]> {
    if (this.#partitioned) throw Object.assign(new Error('partitioned by test'), { code: 503 });
    return this.#api.list(`${SHARDING_LABEL}=${this.#prefix}`);
  }
}

function observationOf<K>(map: Map<K, LeaseObservation>, key: K, clock: Clock): LeaseObservation {
  let seen = map.get(key);
  if (!seen) {
    seen = new LeaseObservation(clock);
    map.set(key, seen);
  }
  return seen;
}
