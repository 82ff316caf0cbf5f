/** What a reconcile asks of the work queue. Errors thrown instead are retried with per-key backoff. */
export interface ReconcileResult {
  /** Reconcile again after this many ms (a renewal or a grace period ending); the earliest request wins. */
  requeueAfterMs?: number;
  /**
   * The work-queue lane the key enters when that time comes (kube/workqueue.ts Priority). Default 'due': a renewal
   * or a grace period's end has a deadline. A safety-net re-check says 'low'.
   */
  requeuePriority?: 'due' | 'high' | 'low';
}

/** Retry after at least this delay (e.g. an upstream Retry-After), not counting as a hot-loop-prone error. */
export class RequeueAfterError extends Error {
  override readonly name = 'RequeueAfterError';
  readonly delayMs: number;
  constructor(message: string, delayMs: number) {
    super(message);
    this.delayMs = delayMs;
  }
}

/**
 * This replica no longer holds the shard Lease of the resource (sharding): stop at once, without retry or error. The
 * replica that acquires the shard enqueues the key itself.
 */
export class ShardNotHeldError extends Error {
  override readonly name = 'ShardNotHeldError';
}

export function earliest(...delays: Array<number | undefined>): number | undefined {
  const defined = delays.filter((d): d is number => d !== undefined);
  return defined.length ? Math.max(0, Math.min(...defined)) : undefined;
}
