// Kubernetes Events (events.k8s.io/v1) for `kubectl describe`. What matters more than the Events themselves:
//   - recording never throws and never blocks a reconcile: a failing API server costs a log line, not a retry loop;
//   - Events never compete with the writes that matter: they are written in the background, at most `maxInFlight`
//     at a time and at most `qps` per second after a `burst` (one token bucket for the whole process, as client-go's
//     EventCorrelator), from a bounded backlog in which Warnings are kept over Normals; what does not fit is
//     dropped and counted (tokensync_events_dropped_total);
//   - repeats of the same (object, type, reason, message) update one Event's `series.count` instead of creating a new
//     Event each time, and repeats that arrive while a write is waiting or in flight are folded into one write;
//   - a per-object spam filter (client-go's EventSourceObjectSpamFilter: 25 at once, then one per 5 minutes per
//     object) stops one hot-looping object from using the whole budget.
import { randomBytes } from 'node:crypto';
import { type Clock, realClock } from '../clock.ts';
import { failpoint } from '../failpoints.ts';
import { TokenBucket } from '../token-bucket.ts';
import type { KubeConfig } from './client.ts';
import { isNotFound, type KubeRequest, kubeRequest } from './client.ts';
import { microTime } from './leases.ts';
import { Fifo } from './queue-storage.ts';

export interface EventObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderLogger {
  warn(o: object, msg?: string): void;
  debug?(o: object, msg?: string): void;
}

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  component: string;
  /** This replica (pod name): several replicas write Events, kubectl shows which one. */
  instance: string;
  logger?: EventRecorderLogger;
  /** Distinct (object, reason, message) series remembered for aggregation; the least recently used are forgotten. */
  maxSeries?: number;
  /** Event writes per second for the whole process after a burst: default 10/s after 100. */
  qps?: number;
  burst?: number;
  /** Series waiting for a write; beyond it, a Normal is dropped (or makes room for a Warning). Default 1000. */
  maxBacklog?: number;
  /** Event writes in flight at once. Default 4. */
  maxInFlight?: number;
  /** Per object: occurrences let through at once, then one per `spamRefillMs`. Default 25, one per 5 minutes. */
  spamBurst?: number;
  spamRefillMs?: number;
  /** An occurrence was not written: the backlog was full, or the object exceeded its spam budget. */
  onDropped?: (reason: 'backlog' | 'spam', type: EventType) => void;
  clock?: Clock;
  /** The API call (tests replace it); default kubeRequest against `kubeConfig`. */
  send?: (req: KubeRequest) => Promise<unknown>;
}

/** The API server rejects an Event note longer than 1 kB. */
export const MAX_MESSAGE_LENGTH = 1024;

interface Series {
  namespace: string;
  object: EventObjectRef;
  type: EventType;
  reason: string;
  note: string;
  /** Name of the Event once created. */
  name?: string;
  /** Occurrences recorded so far. */
  count: number;
  /** Occurrences the API server knows about (or that were given up on). */
  written: number;
  /** In the backlog, waiting for a write slot. */
  queued: boolean;
  inFlight: boolean;
  /** Callers of record() waiting for the write that covers their occurrence. */
  waiters: Array<() => void>;
}

/**
 * Only what an Event names of its object. Callers pass whole resources (a reconcile's latest version, with spec and
 * status); a series kept that object alive for as long as the series lives, up to 4,096 of them: 10 MiB of the heap
 * after a burst of 10,000 new tokens (docs/benchmarks.md, Memory).
 */
function refOf(object: EventObjectRef): EventObjectRef {
  const { name, namespace, uid } = object.metadata;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), ...(uid !== undefined ? { uid } : {}) },
  };
}

export function truncateMessage(message: string): string {
  if (message.length <= MAX_MESSAGE_LENGTH) return message;
  return `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...`;
}

export class EventRecorder {
  readonly #component: string;
  readonly #instance: string;
  readonly #log: EventRecorderLogger | undefined;
  readonly #maxSeries: number;
  readonly #series = new Map<string, Series>();
  readonly #clock: Clock;
  readonly #send: (req: KubeRequest) => Promise<unknown>;
  readonly #onDropped: EventRecorderOptions['onDropped'];
  readonly #bucket: TokenBucket;
  readonly #maxBacklog: number;
  readonly #maxInFlight: number;
  readonly #spamBurst: number;
  readonly #spamRate: number;
  /** Per-object spam buckets, least recently used first. */
  readonly #spam = new Map<string, TokenBucket>();
  readonly #warnings = new Fifo<Series>();
  readonly #normals = new Fifo<Series>();
  #inFlight = 0;
  #pumping = false;
  #slotFreed: (() => void) | undefined;

  constructor(options: EventRecorderOptions) {
    const kc = options.kubeConfig;
    this.#component = options.component;
    this.#instance = options.instance;
    this.#log = options.logger;
    this.#maxSeries = options.maxSeries ?? 4096;
    this.#clock = options.clock ?? realClock;
    this.#send = options.send ?? ((req) => kubeRequest(kc, req));
    this.#onDropped = options.onDropped;
    this.#bucket = new TokenBucket({
      requestsPerSecond: options.qps ?? 10,
      burst: options.burst ?? 100,
      clock: this.#clock,
    });
    this.#maxBacklog = options.maxBacklog ?? 1000;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#spamBurst = options.spamBurst ?? 25;
    this.#spamRate = 1000 / (options.spamRefillMs ?? 300_000);
  }

  /** Series waiting for a write slot. */
  get backlog(): number {
    return this.#warnings.length + this.#normals.length;
  }

  /**
   * Waits until every queued Event is written (Warnings first, within the write budget) or `timeoutMs` has passed;
   * returns how many series were still unwritten. For shutdown: Events queued behind the budget would otherwise be
   * lost with the process.
   */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = this.#clock.now() + timeoutMs;
    while (this.backlog + this.#inFlight > 0 && this.#clock.now() < deadline) {
      await new Promise<void>((resolve) => setTimeout(resolve, Math.min(50, deadline - this.#clock.now())));
    }
    return this.backlog + this.#inFlight;
  }

  /**
   * Records an Event about `object`. Returns a promise that resolves once the write covering this occurrence is done
   * (or it was dropped), for tests and shutdown; callers need not await it, and it never rejects.
   */
  record(object: EventObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    try {
      const objectKey = object.metadata.uid ?? `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`;
      if (!this.#spamAllows(objectKey)) {
        this.#drop('spam', type);
        return Promise.resolve();
      }
      const note = truncateMessage(message);
      const key = `${objectKey}\u0000${type}\u0000${reason}\u0000${note}`;
      let series = this.#series.get(key);
      if (series) {
        // Refresh its LRU position.
        this.#series.delete(key);
      } else {
        // Cluster-scoped objects (ClusterCredentialsProvider) get their Events in 'default', as client-go does.
        series = {
          namespace: object.metadata.namespace || 'default',
          object: refOf(object),
          type,
          reason,
          note,
          count: 0,
          written: 0,
          queued: false,
          inFlight: false,
          waiters: [],
        };
        this.#evict();
      }
      this.#series.set(key, series);
      series.count++;
      const done = new Promise<void>((resolve) => series.waiters.push(resolve));
      // Waiting or in flight already: this occurrence rides on the next write of the series.
      if (!series.queued && !series.inFlight) this.#enqueue(series);
      return done;
    } catch (err) {
      this.#log?.warn({ err: String(err), reason }, 'failed to record event');
      return Promise.resolve();
    }
  }

  #spamAllows(objectKey: string): boolean {
    let bucket = this.#spam.get(objectKey);
    if (bucket) {
      this.#spam.delete(objectKey);
    } else {
      bucket = new TokenBucket({ requestsPerSecond: this.#spamRate, burst: this.#spamBurst, clock: this.#clock });
      while (this.#spam.size >= this.#maxSeries) {
        const oldest = this.#spam.keys().next();
        if (oldest.done) break;
        this.#spam.delete(oldest.value);
      }
    }
    this.#spam.set(objectKey, bucket);
    return bucket.tryAcquire();
  }

  #evict(): void {
    while (this.#series.size >= this.#maxSeries) {
      const oldest = this.#series.keys().next();
      if (oldest.done) return;
      this.#series.delete(oldest.value);
    }
  }

  #drop(reason: 'backlog' | 'spam', type: EventType): void {
    this.#onDropped?.(reason, type);
  }

  /** Gives up the occurrences of a series not written yet (counted as dropped) and releases their callers. */
  #dropSeries(series: Series): void {
    series.queued = false;
    for (let i = series.written; i < series.count; i++) this.#drop('backlog', series.type);
    series.written = series.count;
    for (const w of series.waiters.splice(0)) w();
  }

  #enqueue(series: Series): void {
    if (this.backlog >= this.#maxBacklog) {
      // Full: a Warning takes the place of the oldest Normal; a Normal, or a Warning among Warnings only, is dropped.
      const victim = series.type === 'Warning' ? this.#normals.shift() : undefined;
      if (!victim) {
        this.#dropSeries(series);
        return;
      }
      this.#dropSeries(victim);
    }
    series.queued = true;
    (series.type === 'Warning' ? this.#warnings : this.#normals).push(series);
    void this.#pump();
  }

  /** Writes the backlog, Warnings first, within the write budget and the in-flight cap. One pump at a time. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.backlog > 0) {
        if (this.#inFlight >= this.#maxInFlight) {
          await new Promise<void>((resolve) => {
            this.#slotFreed = resolve;
          });
          continue;
        }
        await this.#bucket.acquire();
        const series = this.#warnings.shift() ?? this.#normals.shift();
        if (!series) break;
        series.queued = false;
        this.#inFlight++;
        void this.#flush(series).finally(() => {
          this.#inFlight--;
          const freed = this.#slotFreed;
          this.#slotFreed = undefined;
          freed?.();
        });
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #flush(series: Series): Promise<void> {
    series.inFlight = true;
    const covered = series.waiters.splice(0);
    const count = series.count;
    try {
      await this.#write(series, count);
    } catch (err) {
      const object = series.object;
      this.#log?.warn(
        {
          err: String(err),
          reason: series.reason,
          object: `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`,
        },
        'failed to record event',
      );
    } finally {
      // Written, or given up on: only occurrences recorded since are still owed a write.
      series.written = Math.max(series.written, count);
      series.inFlight = false;
      for (const w of covered) w();
      if (series.count > series.written) this.#enqueue(series);
    }
  }

  async #write(series: Series, count: number): Promise<void> {
    const now = microTime(this.#clock.now());
    const collection = `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(series.namespace)}/events`;
    if (series.name && count > 1) {
      try {
        await this.#send({
          method: 'PATCH',
          path: `${collection}/${series.name}`,
          body: { series: { count, lastObservedTime: now } },
          contentType: 'application/merge-patch+json',
        });
        failpoint('after-event');
        return;
      } catch (err) {
        // Events expire (1 h TTL by default): start a new one.
        if (!isNotFound(err)) throw err;
        series.name = undefined;
      }
    }
    const { object } = series;
    const name = `${object.metadata.name}.${randomBytes(8).toString('hex')}`;
    await this.#send({
      method: 'POST',
      path: collection,
      body: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace: series.namespace },
        eventTime: now,
        reportingController: this.#component,
        reportingInstance: this.#instance,
        action: series.reason,
        reason: series.reason,
        type: series.type,
        note: series.note,
        // A burst recorded before the first write is one Event with a series from the start.
        ...(count > 1 ? { series: { count, lastObservedTime: now } } : {}),
        regarding: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata.name,
          namespace: object.metadata.namespace,
          uid: object.metadata.uid,
        },
      },
    });
    series.name = name;
    failpoint('after-event');
  }
}
