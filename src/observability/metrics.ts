import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Clock, realClock } from '../clock.ts';
import { type TokenObservation, TokenSeries, type TokenSeriesMode } from './token-series.ts';

export type { TokenObservation, TokenSeriesMode } from './token-series.ts';

/**
 * prom-client's default metrics that fail `promtool check metrics`: gauges named like counters (`_total`). Each is the
 * sum over the `type` label of the gauge of the same name without `_total`, so nothing is lost: use
 * `sum(tokensync_nodejs_active_handles)`.
 */
const NON_CONFORMING_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Every tokensync metric, named by Prometheus conventions (base units, _total counters, _seconds durations).
 * Labels are bounded: namespace/name of resources that exist, provider names, operation and result enums,
 * HTTP status codes. Token values and ids never become labels.
 *
 * The per-token series live in a TokenSeries (token-series.ts) instead of prom-client gauges, so that a scrape at
 * 100,000 tokens is rendered in chunks rather than in one blocking call: use render() (or text()) for the whole
 * exposition, not registry.metrics().
 */
export class Metrics {
  readonly registry = new Registry();
  readonly tokens: TokenSeries;
  readonly #clock: Clock;

  readonly mints = new Counter({
    name: 'tokensync_mints_total',
    help: 'Tokens minted upstream, by provider and result.',
    labelNames: ['provider', 'result'],
    registers: [this.registry],
  });
  readonly revocations = new Counter({
    name: 'tokensync_revocations_total',
    help: 'Tokens revoked upstream, by provider and result (not_found counts as revoked).',
    labelNames: ['provider', 'result'],
    registers: [this.registry],
  });
  readonly workloadRestarts = new Counter({
    name: 'tokensync_workload_restarts_total',
    help: 'Rollout restarts of restartTargets workloads after rotations, by namespace, kind and result (restarted, not_found, error). Tokens that rotate together share one restart.',
    labelNames: ['namespace', 'kind', 'result'],
    registers: [this.registry],
  });
  readonly upstreamRequests = new Counter({
    name: 'tokensync_upstream_requests_total',
    help: 'HTTP requests to credentials APIs, by provider, operation and status code.',
    labelNames: ['provider', 'operation', 'code'],
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: 'tokensync_upstream_request_duration_seconds',
    help: 'Latency of HTTP requests to credentials APIs.',
    labelNames: ['provider', 'operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: 'tokensync_reconcile_total',
    help: 'Reconciles, by controller and result (success, error, requeue, conflict).',
    labelNames: ['controller', 'result'],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'tokensync_reconcile_errors_total',
    help: 'Reconciles that ended in an error, by controller.',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'tokensync_reconcile_duration_seconds',
    help: 'Duration of one reconcile.',
    labelNames: ['controller'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });
  readonly workqueueDepth = new Gauge({
    name: 'tokensync_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    labelNames: ['name'],
    registers: [this.registry],
  });
  readonly workqueueAdds = new Counter({
    name: 'tokensync_workqueue_adds_total',
    help: 'Keys added to the work queue.',
    labelNames: ['name'],
    registers: [this.registry],
  });
  readonly workqueueRetries = new Counter({
    name: 'tokensync_workqueue_retries_total',
    help: 'Rate-limited re-adds to the work queue.',
    labelNames: ['name'],
    registers: [this.registry],
  });
  readonly workqueueLatency = new Histogram({
    name: 'tokensync_workqueue_queue_duration_seconds',
    help: 'Time a key waits in the work queue before a worker takes it.',
    labelNames: ['name'],
    buckets: [0.001, 0.01, 0.1, 1, 10, 60],
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'tokensync_events_dropped_total',
    help: 'Kubernetes Events not written, by reason (backlog: the write backlog was full; spam: the object exceeded its per-object budget) and type (Warnings are kept over Normals).',
    labelNames: ['reason', 'type'],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'tokensync_leader',
    help: '1 when this process holds the leader-election lease (or runs without leader election).',
    registers: [this.registry],
  });
  readonly shardsOwned = new Gauge({
    name: 'tokensync_shards_owned',
    help: 'Shards whose Lease this process holds and works on (--sharding); 0 without sharding.',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean; tokenSeries?: TokenSeriesMode; clock?: Clock } = {}) {
    this.tokens = new TokenSeries({ mode: options.tokenSeries ?? 'all' });
    this.#clock = options.clock ?? realClock;
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'tokensync_' });
      for (const name of NON_CONFORMING_DEFAULT_METRICS) this.registry.removeSingleMetric(`tokensync_${name}`);
    }
  }

  /** Content type of render() and text(): the Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The whole exposition in chunks: prom-client's metrics (a few hundred series), then the per-token families a
   * chunk of tokens at a time, yielding to the event loop in between.
   */
  async *render(): AsyncGenerator<string> {
    yield await this.registry.metrics();
    yield* this.tokens.render(new Date(this.#clock.now()));
  }

  /** The whole exposition as one string (tests and small registries; the metrics server streams render()). */
  async text(): Promise<string> {
    let out = '';
    for await (const chunk of this.render()) out += chunk;
    return out;
  }

  /**
   * Records what one ServiceAccountToken looks like right now. The token controller calls this at the end of every
   * reconcile path (success, failure, backoff, recovery), so the series always agree with the Ready condition.
   */
  observeToken(token: TokenObservation): void {
    this.tokens.observe(token);
  }

  /** Drops the per-token series of a deleted ServiceAccountToken, keeping cardinality bounded. */
  forgetToken(namespace: string, name: string): void {
    this.tokens.forget(namespace, name);
  }
}
