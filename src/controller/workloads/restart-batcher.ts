// Rollout restarts shared between the ServiceAccountTokens that name the same workload: when several rotate together,
// the workload restarts once per window, not once per token.
import type { RestartTargetKind } from '../../api/v1alpha1/index.ts';
import type { Clock } from '../../clock.ts';
import type { WorkloadApi } from '../../kube/workloads.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { describe } from '../token/failure.ts';

/** A workload is restarted at most once per this window (plus the restart that opens it). */
export const RESTART_WINDOW_MS = 10_000;
/** Outcomes older than this are forgotten: a token that asks again after that gets a new restart. */
const REMEMBER_MS = 10 * 60_000;

export interface WorkloadRef {
  namespace: string;
  kind: RestartTargetKind;
  name: string;
}

export type RestartDone =
  | { state: 'done'; result: 'Restarted'; generation: number | undefined; at: number }
  | { state: 'done'; result: 'NotFound'; at: number }
  | { state: 'done'; result: 'Failed'; message: string; at: number };

/** `scheduled`: a restart that covers the request happens at `at`; the requester is woken then. */
export type RestartOutcome = RestartDone | { state: 'scheduled'; at: number };

interface Entry {
  last?: RestartDone;
  inflight?: { at: number; done: Promise<RestartDone> };
  scheduled?: { at: number; handle: unknown; waiters: Set<string> };
}

export interface RestartBatcherOptions {
  api: Pick<WorkloadApi, 'restart'>;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  windowMs?: number;
  /** Called with each requester of a scheduled restart once it happened (the token controller requeues it). */
  wake(requester: string): void;
}

/**
 * Each request carries `notBefore`: when the requester's Secret was written. A restart that began at or after it
 * delivers the new token to every pod it creates, so it satisfies the request; an earlier one does not (its pods may
 * have read the old Secret). So a request is answered by
 *   - the restart in flight or done, when it began at or after notBefore;
 *   - else a restart now, unless the workload was restarted less than a window ago;
 *   - else one restart at the end of that window, shared by every request that arrives until then.
 * A burst of tokens naming one workload thus costs two restarts (the first token's, then one for the rest), and a
 * steady stream at most one per window. The memory is this process's: after a restart or a failover a request simply
 * restarts again, which is safe.
 */
export class RestartBatcher {
  readonly #o: RestartBatcherOptions;
  readonly #window: number;
  readonly #entries = new Map<string, Entry>();
  #stopped = false;

  constructor(options: RestartBatcherOptions) {
    this.#o = options;
    this.#window = options.windowMs ?? RESTART_WINDOW_MS;
  }

  async request(ref: WorkloadRef, notBefore: number, requester: string): Promise<RestartOutcome> {
    const key = `${ref.namespace}/${ref.kind}/${ref.name}`;
    this.#forgetOld();
    const entry = this.#entries.get(key) ?? {};
    this.#entries.set(key, entry);
    if (entry.inflight && entry.inflight.at >= notBefore) return entry.inflight.done;
    if (entry.last && entry.last.at >= notBefore) return entry.last;
    if (entry.scheduled) {
      entry.scheduled.waiters.add(requester);
      return { state: 'scheduled', at: entry.scheduled.at };
    }
    const now = this.#o.clock.now();
    const previous = Math.max(
      entry.inflight?.at ?? Number.NEGATIVE_INFINITY,
      entry.last?.at ?? Number.NEGATIVE_INFINITY,
    );
    if (now < previous + this.#window) {
      const at = previous + this.#window;
      const handle = this.#o.clock.setTimeout(() => void this.#fire(key, ref), at - now);
      entry.scheduled = { at, handle, waiters: new Set([requester]) };
      return { state: 'scheduled', at };
    }
    return this.#restartNow(key, ref, entry);
  }

  /** Cancels scheduled restarts (leadership lost, shutdown); their tokens still owe them and ask the next leader. */
  stop(): void {
    this.#stopped = true;
    for (const entry of this.#entries.values()) {
      if (entry.scheduled) this.#o.clock.clearTimeout(entry.scheduled.handle);
      delete entry.scheduled;
    }
  }

  /** Allows scheduling again after stop() (a process that regains leadership). */
  start(): void {
    this.#stopped = false;
  }

  async #fire(key: string, ref: WorkloadRef): Promise<void> {
    const entry = this.#entries.get(key);
    const scheduled = entry?.scheduled;
    if (!entry || !scheduled || this.#stopped) return;
    delete entry.scheduled;
    await this.#restartNow(key, ref, entry);
    for (const requester of scheduled.waiters) this.#o.wake(requester);
  }

  #restartNow(key: string, ref: WorkloadRef, entry: Entry): Promise<RestartDone> {
    const at = this.#o.clock.now();
    const done = this.#restart(ref, at).then((outcome) => {
      entry.last = outcome;
      if (entry.inflight?.done === done) delete entry.inflight;
      return outcome;
    });
    entry.inflight = { at, done };
    this.#entries.set(key, entry);
    return done;
  }

  async #restart(ref: WorkloadRef, at: number): Promise<RestartDone> {
    // Whole seconds, rounded up: an Argo Rollout restarts the pods created before spec.restartAt, and every pod that
    // may hold the old token was created before `at`.
    const stamp = new Date(Math.ceil(at / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
    const labels = { namespace: ref.namespace, kind: ref.kind };
    try {
      const r = await this.#o.api.restart(ref.namespace, ref.kind, ref.name, stamp);
      if (r.result === 'not-found') {
        this.#o.metrics?.workloadRestarts.inc({ ...labels, result: 'not_found' });
        return { state: 'done', result: 'NotFound', at };
      }
      this.#o.metrics?.workloadRestarts.inc({ ...labels, result: 'restarted' });
      this.#o.logger.info({ ...ref, generation: r.generation }, 'restarted workload');
      return { state: 'done', result: 'Restarted', generation: r.generation, at };
    } catch (error) {
      this.#o.metrics?.workloadRestarts.inc({ ...labels, result: 'error' });
      const message = describe(error);
      this.#o.logger.warn({ ...ref, err: message }, 'could not restart workload');
      return { state: 'done', result: 'Failed', message, at };
    }
  }

  #forgetOld(): void {
    if (this.#entries.size < 256) return;
    const horizon = this.#o.clock.now() - REMEMBER_MS;
    for (const [key, entry] of this.#entries) {
      if (!entry.scheduled && !entry.inflight && (entry.last?.at ?? 0) < horizon) this.#entries.delete(key);
    }
  }
}
