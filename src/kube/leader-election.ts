// Leader election on a coordination.k8s.io/v1 Lease with client-go's semantics (tools/leaderelection):
//   - acquire when the lease is free (no holder, e.g. released) or expired. Expiry is judged by the LOCAL clock: the
//     time we last saw the record change plus its leaseDurationSeconds, never by comparing the holder's timestamps to
//     our clock, so clock skew between replicas cannot make two leaders;
//   - renew every retryPeriod; if no renew has succeeded for renewDeadline, step down (abort the signal, call
//     onStoppedLeading). renewDeadline < leaseDuration means the old leader has stopped before anyone else can
//     consider the lease expired;
//   - every write carries the resourceVersion read just before (replace = optimistic lock): a 409 means someone
//     else wrote first, and we simply try again on the next tick;
//   - stop() releases the lease (empty holder) so a standby takes over at once instead of after leaseDuration.
// The Lease itself (read, acquire or renew, release) is lease.ts, shared with shard ownership (sharding/).

import { type Clock, realClock, Sleeper, withTimeout } from '../clock.ts';
import type { KubeConfig } from './client.ts';
import { LeaseLock, type LeaseLogger, noopLeaseLogger } from './lease.ts';

export type LeaderElectorLogger = LeaseLogger;

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  /** Unique per replica, e.g. the pod name plus a random suffix. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: LeaderElectorLogger;
  clock?: Clock;
  onChange?(leader: boolean): void;
}

export interface LeaderCallbacks {
  /** Called on becoming leader; do the leader's work until `signal` aborts. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading(): void;
}

export class LeaderElector {
  readonly #opts: Required<Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> &
    LeaderElectorOptions;
  readonly #lock: LeaseLock;
  readonly #log: LeaderElectorLogger;
  readonly #clock: Clock;
  readonly #sleeper: Sleeper;
  #leader = false;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    // The same checks client-go makes: otherwise a leader could still be working when another takes over.
    if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) throw new Error('renewDeadlineMs must exceed 1.2 × retryPeriodMs');
    this.#opts = { ...options, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.#log = options.logger ?? noopLeaseLogger;
    this.#clock = options.clock ?? realClock;
    this.#sleeper = new Sleeper(this.#clock);
    this.#lock = new LeaseLock({
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      name: options.name,
      identity: options.identity,
      leaseDurationMs,
      clock: this.#clock,
      logger: this.#log,
    });
  }

  isLeader(): boolean {
    return this.#leader;
  }

  /**
   * Fault injection for tests: while partitioned, every Lease call fails as if the API server were unreachable
   * (a leader then steps down after renewDeadline, before anyone else may take the lease).
   */
  readonly testing = {
    partition: (on: boolean): void => {
      this.#lock.partitioned = on;
    },
  };

  /** Campaigns, leads, and campaigns again after losing the lease, until stop(). */
  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.#running) throw new Error('leader elector already running');
    this.#stopped = false;
    this.#sleeper.start();
    this.#running = this.#loop(callbacks);
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleeper.stop();
    await this.#running;
    this.#running = undefined;
  }

  async #loop(callbacks: LeaderCallbacks): Promise<void> {
    while (!this.#stopped) {
      // Campaign.
      let acquired = false;
      while (!this.#stopped && !acquired) {
        acquired = await this.#lock.tryAcquireOrRenew();
        if (!acquired) await this.#sleeper.sleep(this.#opts.retryPeriodMs * (1 + Math.random() * 1.2));
      }
      if (this.#stopped) {
        // stop() arrived while the winning write was in flight: hand the lease straight back.
        if (acquired) await this.#lock.release();
        break;
      }

      this.#setLeader(true);
      this.#log.info({ lease: this.#leaseName(), identity: this.#opts.identity }, 'became leader');
      const controller = new AbortController();
      const work = Promise.resolve()
        .then(() => callbacks.onStartedLeading(controller.signal))
        .catch((err) => this.#log.warn({ err: String(err) }, 'onStartedLeading failed'));

      // Renew until a renew deadline passes without success, or stop().
      let lastRenew = this.#clock.now();
      while (!this.#stopped) {
        await this.#sleeper.sleep(this.#opts.retryPeriodMs);
        if (this.#stopped) break;
        const remaining = this.#opts.renewDeadlineMs - (this.#clock.now() - lastRenew);
        if (remaining > 0 && (await withTimeout(this.#clock, this.#lock.tryAcquireOrRenew(), remaining))) {
          lastRenew = this.#clock.now();
          continue;
        }
        if (this.#clock.now() - lastRenew >= this.#opts.renewDeadlineMs) {
          this.#log.warn(
            { lease: this.#leaseName(), identity: this.#opts.identity },
            'failed to renew lease; stepping down',
          );
          break;
        }
      }

      const stopping = this.#stopped;
      this.#setLeader(false);
      controller.abort();
      if (stopping) {
        // Let the leader's work wind down before the lease is handed over, but never longer than a renew deadline.
        await withTimeout(this.#clock, work, this.#opts.renewDeadlineMs);
      }
      try {
        callbacks.onStoppedLeading();
      } catch (err) {
        this.#log.warn({ err: String(err) }, 'onStoppedLeading failed');
      }
      if (stopping) await this.#lock.release();
    }
  }

  #setLeader(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    try {
      this.#opts.onChange?.(leader);
    } catch (err) {
      this.#log.warn({ err: String(err) }, 'onChange failed');
    }
  }

  #leaseName(): string {
    return `${this.#opts.namespace}/${this.#opts.name}`;
  }
}
