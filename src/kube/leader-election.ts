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
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { isNotFound, statusCodeOf } from './client.ts';

export interface LeaderElectorLogger {
  debug(o: object, msg?: string): void;
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

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
  onChange?(leader: boolean): void;
}

export interface LeaderCallbacks {
  /** Called on becoming leader; do the leader's work until `signal` aborts. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading(): void;
}

interface ObservedRecord {
  holder: string;
  renewTime: string;
  leaseDurationSeconds: number;
  transitions: number;
}

const noopLogger: LeaderElectorLogger = { debug() {}, info() {}, warn() {} };

export class LeaderElector {
  readonly #opts: Required<Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> &
    LeaderElectorOptions;
  readonly #api: CoordinationV1Api;
  readonly #log: LeaderElectorLogger;
  #leader = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #observed: ObservedRecord | undefined;
  #observedAt = 0;
  #partitioned = false;

  constructor(options: LeaderElectorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    // The same checks client-go makes: otherwise a leader could still be working when another takes over.
    if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) throw new Error('renewDeadlineMs must exceed 1.2 × retryPeriodMs');
    this.#opts = { ...options, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#log = options.logger ?? noopLogger;
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
      this.#partitioned = on;
    },
  };

  /** Campaigns, leads, and campaigns again after losing the lease, until stop(). */
  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.#running) throw new Error('leader elector already running');
    this.#stopped = false;
    this.#running = this.#loop(callbacks);
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#running;
    this.#running = undefined;
  }

  async #loop(callbacks: LeaderCallbacks): Promise<void> {
    while (!this.#stopped) {
      // Campaign.
      let acquired = false;
      while (!this.#stopped && !acquired) {
        acquired = await this.#tryAcquireOrRenew();
        if (!acquired) await this.#sleep(this.#opts.retryPeriodMs * (1 + Math.random() * 1.2));
      }
      if (this.#stopped) {
        // stop() arrived while the winning write was in flight: hand the lease straight back.
        if (acquired) await this.#release();
        break;
      }

      this.#setLeader(true);
      this.#log.info({ lease: this.#leaseName(), identity: this.#opts.identity }, 'became leader');
      const controller = new AbortController();
      const work = Promise.resolve()
        .then(() => callbacks.onStartedLeading(controller.signal))
        .catch((err) => this.#log.warn({ err: String(err) }, 'onStartedLeading failed'));

      // Renew until a renew deadline passes without success, or stop().
      let lastRenew = Date.now();
      while (!this.#stopped) {
        await this.#sleep(this.#opts.retryPeriodMs);
        if (this.#stopped) break;
        const remaining = this.#opts.renewDeadlineMs - (Date.now() - lastRenew);
        if (remaining > 0 && (await this.#withTimeout(this.#tryAcquireOrRenew(), remaining))) {
          lastRenew = Date.now();
          continue;
        }
        if (Date.now() - lastRenew >= this.#opts.renewDeadlineMs) {
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
        await this.#withTimeout(work, this.#opts.renewDeadlineMs);
      }
      try {
        callbacks.onStoppedLeading();
      } catch (err) {
        this.#log.warn({ err: String(err) }, 'onStoppedLeading failed');
      }
      if (stopping) await this.#release();
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

  /** One round of client-go's tryAcquireOrRenew: true when we hold the lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#opts;
    const now = new Date();
    const leaseDurationSeconds = Math.ceil(this.#opts.leaseDurationMs / 1000);
    try {
      if (this.#partitioned) throw Object.assign(new Error('partitioned by test'), { code: 503 });
      let lease: V1Lease;
      try {
        lease = await this.#api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.#api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: new V1MicroTime(now.getTime()),
              renewTime: new V1MicroTime(now.getTime()),
              leaseTransitions: 0,
            },
          },
        });
        this.#observe({ holder: identity, renewTime: now.toISOString(), leaseDurationSeconds, transitions: 0 });
        return true;
      }

      const spec = lease.spec ?? {};
      const record: ObservedRecord = {
        holder: spec.holderIdentity ?? '',
        // client-node leaves MicroTime as the wire string on read; String() covers a Date too.
        renewTime: spec.renewTime ? String(spec.renewTime) : '',
        leaseDurationSeconds: spec.leaseDurationSeconds ?? leaseDurationSeconds,
        transitions: spec.leaseTransitions ?? 0,
      };
      this.#observe(record);
      const held = record.holder !== '' && record.holder !== identity;
      if (held && this.#observedAt + record.leaseDurationSeconds * 1000 > Date.now()) return false;

      const mine = record.holder === identity;
      const body: V1Lease = {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds,
          renewTime: new V1MicroTime(now.getTime()),
          acquireTime: mine && spec.acquireTime ? spec.acquireTime : new V1MicroTime(now.getTime()),
          leaseTransitions: mine ? record.transitions : record.transitions + 1,
        },
      };
      // metadata.resourceVersion from the read makes this replace fail with 409 if anyone wrote in between.
      const updated = await this.#api.replaceNamespacedLease({ name, namespace, body });
      this.#observe({
        holder: identity,
        renewTime: String(updated.spec?.renewTime ?? now.toISOString()),
        leaseDurationSeconds,
        transitions: body.spec!.leaseTransitions!,
      });
      if (!mine) this.#log.info({ lease: this.#leaseName(), identity, previous: record.holder }, 'acquired lease');
      return true;
    } catch (err) {
      const code = statusCodeOf(err);
      this.#log.debug({ lease: this.#leaseName(), identity, code, err: String(err) }, 'lease acquire/renew failed');
      return false;
    }
  }

  #observe(record: ObservedRecord): void {
    const o = this.#observed;
    if (
      !o ||
      o.holder !== record.holder ||
      o.renewTime !== record.renewTime ||
      o.leaseDurationSeconds !== record.leaseDurationSeconds ||
      o.transitions !== record.transitions
    ) {
      this.#observed = record;
      this.#observedAt = Date.now();
    }
  }

  /** Empty holder and a 1 s duration, as client-go's ReleaseOnCancel: standbys acquire on their next try. */
  async #release(): Promise<void> {
    const { namespace, name, identity } = this.#opts;
    try {
      if (this.#partitioned) return;
      const lease = await this.#api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime(Date.now());
      await this.#api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: undefined,
            leaseDurationSeconds: 1,
            renewTime: now,
            acquireTime: now,
          },
        },
      });
      this.#log.info({ lease: this.#leaseName(), identity }, 'released lease');
    } catch (err) {
      // Not fatal: the others take over after leaseDuration instead of at once.
      this.#log.warn({ lease: this.#leaseName(), identity, err: String(err) }, 'failed to release lease');
    }
  }

  #withTimeout<T>(p: Promise<T>, ms: number): Promise<T | false> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }
}
