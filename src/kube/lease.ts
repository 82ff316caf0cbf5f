// One coordination.k8s.io/v1 Lease held with client-go's semantics (tools/leaderelection/resourcelock), shared by
// leader election (leader-election.ts) and shard ownership (sharding/coordinator.ts):
//   - acquire when the lease is free (no holder, e.g. released) or expired. Expiry is judged by the LOCAL clock: the
//     time we last saw the record change plus its leaseDurationSeconds, never by comparing the holder's timestamps to
//     our clock, so clock skew between replicas cannot make two holders;
//   - every write carries the resourceVersion read just before (replace = optimistic lock): a 409 means someone else
//     wrote first, and the caller simply tries again on its next tick;
//   - release() empties the holder (and shortens the duration to 1 s) so another replica acquires at once instead of
//     after leaseDuration.
import { type Clock, realClock } from '../clock.ts';
import { isNotFound, type KubeConfig, statusCodeOf } from './client.ts';
import { type Lease, LeaseApi, microTime } from './leases.ts';

export interface LeaseLogger {
  debug(o: object, msg?: string): void;
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export const noopLeaseLogger: LeaseLogger = { debug() {}, info() {}, warn() {} };

/** What a Lease says about its holder, as read (the times are the holder's, never compared to our clock). */
export interface LeaseRecord {
  holder: string;
  renewTime: string;
  leaseDurationSeconds: number;
  transitions: number;
}

export function recordOf(lease: Lease, defaultDurationSeconds = 15): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holder: spec.holderIdentity ?? '',
    renewTime: spec.renewTime ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? defaultDurationSeconds,
    transitions: spec.leaseTransitions ?? 0,
  };
}

/**
 * The local view of one Lease: the last record seen and when (by our clock) it last changed. A holder is live until
 * leaseDurationSeconds after we saw its record change; a record seen for the first time counts as just renewed.
 */
export class LeaseObservation {
  readonly #clock: Clock;
  #record: LeaseRecord | undefined;
  #at = 0;

  constructor(clock: Clock = realClock) {
    this.#clock = clock;
  }

  observe(record: LeaseRecord): void {
    const o = this.#record;
    if (
      !o ||
      o.holder !== record.holder ||
      o.renewTime !== record.renewTime ||
      o.leaseDurationSeconds !== record.leaseDurationSeconds ||
      o.transitions !== record.transitions
    ) {
      this.#record = record;
      this.#at = this.#clock.now();
    }
  }

  get record(): LeaseRecord | undefined {
    return this.#record;
  }

  /** The holder, while its lease has not expired by our clock; undefined when free or expired. */
  liveHolder(): string | undefined {
    const r = this.#record;
    if (!r || r.holder === '') return undefined;
    return this.#at + r.leaseDurationSeconds * 1000 > this.#clock.now() ? r.holder : undefined;
  }
}

export interface LeaseLockOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  /** Labels a newly created Lease carries (sharding lists its Leases by label). */
  labels?: Record<string, string>;
  /** The local view of the Lease, when the caller also observes it from elsewhere (sharding lists Leases). */
  observation?: LeaseObservation;
  clock?: Clock;
  logger?: LeaseLogger;
}

export class LeaseLock {
  readonly name: string;
  readonly #o: LeaseLockOptions;
  readonly #api: LeaseApi;
  readonly #clock: Clock;
  readonly #log: LeaseLogger;
  readonly observation: LeaseObservation;
  /** Fault injection for tests: every call fails as if the API server were unreachable. */
  partitioned = false;

  constructor(options: LeaseLockOptions) {
    this.#o = options;
    this.name = options.name;
    this.#api = new LeaseApi(options.kubeConfig, options.namespace);
    this.#clock = options.clock ?? realClock;
    this.#log = options.logger ?? noopLeaseLogger;
    this.observation = options.observation ?? new LeaseObservation(this.#clock);
  }

  get #key(): string {
    return `${this.#o.namespace}/${this.#o.name}`;
  }

  /**
   * One round of client-go's tryAcquireOrRenew: true when we hold the lease afterwards. `current` is the Lease as just
   * listed (saves the read); its resourceVersion still guards the write.
   */
  async tryAcquireOrRenew(current?: Lease): Promise<boolean> {
    const { namespace, name, identity } = this.#o;
    const now = this.#clock.now();
    const leaseDurationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    try {
      if (this.partitioned) throw Object.assign(new Error('partitioned by test'), { code: 503 });
      let lease = current;
      if (!lease) {
        try {
          lease = await this.#api.get(name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          await this.#api.create({
            metadata: { name, namespace, ...(this.#o.labels ? { labels: this.#o.labels } : {}) },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          });
          this.observation.observe({
            holder: identity,
            renewTime: microTime(now),
            leaseDurationSeconds,
            transitions: 0,
          });
          this.#log.info({ lease: this.#key, identity }, 'acquired lease');
          return true;
        }
      }

      const spec = lease.spec ?? {};
      const record = recordOf(lease, leaseDurationSeconds);
      this.observation.observe(record);
      const holder = this.observation.liveHolder();
      if (holder !== undefined && holder !== identity) return false;

      const mine = record.holder === identity;
      const body: Lease = {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds,
          renewTime: microTime(now),
          acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
          leaseTransitions: mine ? record.transitions : record.transitions + 1,
        },
      };
      // metadata.resourceVersion from the read makes this replace fail with 409 if anyone wrote in between.
      const updated = await this.#api.replace(body);
      this.observation.observe({
        holder: identity,
        renewTime: updated.spec?.renewTime ?? microTime(now),
        leaseDurationSeconds,
        transitions: body.spec!.leaseTransitions!,
      });
      if (!mine) this.#log.info({ lease: this.#key, identity, previous: record.holder }, 'acquired lease');
      return true;
    } catch (err) {
      const code = statusCodeOf(err);
      this.#log.debug({ lease: this.#key, identity, code, err: String(err) }, 'lease acquire/renew failed');
      return false;
    }
  }

  /** Empty holder and a 1 s duration, as client-go's ReleaseOnCancel: others acquire on their next try. */
  async release(): Promise<void> {
    const { name, identity } = this.#o;
    try {
      if (this.partitioned) return;
      const lease = await this.#api.get(name);
      if (lease.spec?.holderIdentity !== identity) return;
      const now = microTime(this.#clock.now());
      await this.#api.replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      });
      this.#log.info({ lease: this.#key, identity }, 'released lease');
    } catch (err) {
      // Not fatal: the others take over after leaseDuration instead of at once.
      this.#log.warn({ lease: this.#key, identity, err: String(err) }, 'failed to release lease');
    }
  }

  /** Deletes the Lease if we hold it (a member Lease of a replica that leaves for good). */
  async delete(): Promise<void> {
    const { name, identity } = this.#o;
    try {
      if (this.partitioned) return;
      const lease = await this.#api.get(name);
      if (lease.spec?.holderIdentity !== identity) return;
      await this.#api.delete(name, lease.metadata.resourceVersion);
    } catch (err) {
      if (!isNotFound(err)) this.#log.warn({ lease: this.#key, identity, err: String(err) }, 'failed to delete lease');
    }
  }
}
