// Kubernetes Events (events.k8s.io/v1) for `kubectl describe`. Two properties matter more than the Events themselves:
//   - recording never throws and never blocks a reconcile: a failing API server costs a log line, not a retry loop;
//   - repeats of the same (object, type, reason, message) update one Event's `series.count` instead of creating a new
//     Event each time, and repeats that arrive while a write is in flight are coalesced into the next write, so a
//     hot-looping error cannot flood etcd with Events.
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { failpoint } from '../failpoints.ts';
import { isNotFound, kubeRequest } from './client.ts';

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
}

/** The API server rejects an Event note longer than 1 kB. */
export const MAX_MESSAGE_LENGTH = 1024;

interface Series {
  namespace: string;
  /** Name of the Event once created. */
  name?: string;
  /** Occurrences recorded so far. */
  count: number;
  /** Occurrences the API server knows about. */
  written: number;
  flushing?: Promise<void>;
}

/** MicroTime wants exactly six fractional digits. */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

export function truncateMessage(message: string): string {
  if (message.length <= MAX_MESSAGE_LENGTH) return message;
  return `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...`;
}

export class EventRecorder {
  readonly #kc: KubeConfig;
  readonly #component: string;
  readonly #instance: string;
  readonly #log: EventRecorderLogger | undefined;
  readonly #maxSeries: number;
  readonly #series = new Map<string, Series>();

  constructor(options: EventRecorderOptions) {
    this.#kc = options.kubeConfig;
    this.#component = options.component;
    this.#instance = options.instance;
    this.#log = options.logger;
    this.#maxSeries = options.maxSeries ?? 4096;
  }

  /**
   * Records an Event about `object`. Returns a promise for tests and shutdown; callers need not await it, and it
   * never rejects.
   */
  record(object: EventObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    try {
      const note = truncateMessage(message);
      const key = `${object.metadata.uid ?? `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`}\u0000${type}\u0000${reason}\u0000${note}`;
      let series = this.#series.get(key);
      if (series) {
        // Refresh its LRU position.
        this.#series.delete(key);
      } else {
        // Cluster-scoped objects (ClusterCredentialsProvider) get their Events in 'default', as client-go does.
        series = { namespace: object.metadata.namespace || 'default', count: 0, written: 0 };
        this.#evict();
      }
      this.#series.set(key, series);
      series.count++;
      return this.#flush(series, object, type, reason, note);
    } catch (err) {
      this.#log?.warn({ err: String(err), reason }, 'failed to record event');
      return Promise.resolve();
    }
  }

  #evict(): void {
    while (this.#series.size >= this.#maxSeries) {
      const oldest = this.#series.keys().next();
      if (oldest.done) return;
      this.#series.delete(oldest.value);
    }
  }

  #flush(series: Series, object: EventObjectRef, type: EventType, reason: string, note: string): Promise<void> {
    // One write in flight per series; occurrences that arrive meanwhile are folded into a single follow-up write.
    if (series.flushing) return series.flushing.then(() => this.#flushIfBehind(series, object, type, reason, note));
    const p = this.#write(series, object, type, reason, note)
      .catch((err) => {
        this.#log?.warn(
          { err: String(err), reason, object: `${object.kind}/${object.metadata.namespace}/${object.metadata.name}` },
          'failed to record event',
        );
      })
      .finally(() => {
        series.flushing = undefined;
      });
    series.flushing = p;
    return p;
  }

  #flushIfBehind(series: Series, object: EventObjectRef, type: EventType, reason: string, note: string): Promise<void> {
    if (series.written >= series.count) return Promise.resolve();
    return this.#flush(series, object, type, reason, note);
  }

  async #write(series: Series, object: EventObjectRef, type: EventType, reason: string, note: string): Promise<void> {
    const count = series.count;
    const now = microTime();
    const collection = `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(series.namespace)}/events`;
    if (series.name && count > 1) {
      try {
        await kubeRequest(this.#kc, {
          method: 'PATCH',
          path: `${collection}/${series.name}`,
          body: { series: { count, lastObservedTime: now } },
          contentType: 'application/merge-patch+json',
        });
        series.written = count;
        failpoint('after-event');
        return;
      } catch (err) {
        // Events expire (1 h TTL by default): start a new one.
        if (!isNotFound(err)) throw err;
        series.name = undefined;
      }
    }
    const name = `${object.metadata.name}.${randomBytes(8).toString('hex')}`;
    await kubeRequest(this.#kc, {
      method: 'POST',
      path: collection,
      body: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace: series.namespace },
        eventTime: now,
        reportingController: this.#component,
        reportingInstance: this.#instance,
        action: reason,
        reason,
        type,
        note,
        // A burst recorded before the first write finished is one Event with a series from the start.
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
    series.written = count;
    failpoint('after-event');
  }
}
