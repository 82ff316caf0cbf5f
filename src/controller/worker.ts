// The worker loop every queue of the manager runs (client-go's processNextWorkItem): get → process → done; success
// forgets the key's backoff, an error requeues it rate-limited, an optimistic-lock conflict is requeued but not
// counted as an error.
import { isConflict, isNotFound } from '../kube/client.ts';
import type { WorkQueue } from '../kube/workqueue.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type ReconcileResult, RequeueAfterError, ShardNotHeldError } from './result.ts';
import { describe } from './token/failure.ts';

export interface WorkerOptions {
  queue: WorkQueue;
  controller: string;
  process: (key: string) => Promise<ReconcileResult>;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Sharding: keys this replica may work on now; any other key is dropped unprocessed. */
  admit?: ((key: string) => boolean) | undefined;
}

/** Runs until the queue shuts down and hands out `undefined`. */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const { queue, controller, logger, metrics } = o;
  for (;;) {
    const key = await queue.get();
    if (key === undefined) return;
    if (o.admit && !o.admit(key)) {
      // The shard moved away while the key waited: its new owner enqueues it.
      queue.forget(key);
      queue.done(key);
      continue;
    }
    const started = performance.now();
    let result = 'success';
    try {
      const outcome = await o.process(key);
      queue.forget(key);
      if (outcome.requeueAfterMs !== undefined) queue.addAfter(key, outcome.requeueAfterMs, outcome.requeuePriority);
    } catch (error) {
      if (error instanceof RequeueAfterError) {
        result = 'requeue';
        queue.addAfter(key, error.delayMs);
      } else if (error instanceof ShardNotHeldError) {
        result = 'skipped';
        queue.forget(key);
        logger.info({ controller, key }, 'shard no longer held; left to its new owner');
      } else if (isNotFound(error)) {
        // The object vanished mid-reconcile (e.g. finalized and deleted): nothing left to do.
        queue.forget(key);
      } else if (isConflict(error)) {
        // Optimistic-lock conflicts mean our cache was behind: retry, but not as an error.
        result = 'conflict';
        queue.addRateLimited(key);
        logger.debug({ controller, key }, 'conflict; requeued');
      } else {
        result = 'error';
        metrics?.reconcileErrors.inc({ controller });
        queue.addRateLimited(key);
        logger.warn(
          { controller, key, err: describe(error), retries: queue.numRequeues(key) },
          'reconcile failed; retrying with backoff',
        );
      }
    } finally {
      metrics?.reconciles.inc({ controller, result });
      metrics?.reconcileDuration.observe({ controller }, (performance.now() - started) / 1000);
      queue.done(key);
    }
  }
}
