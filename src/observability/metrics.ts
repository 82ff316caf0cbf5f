import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One ServiceAccountToken as the metrics see it: identity, readiness and its schedule. */
export interface TokenObservation {
  namespace: string;
  name: string;
  /** The provider key (namespace/name or cluster/name), when known. */
  provider?: string;
  ready: 'True' | 'False' | 'Unknown';
  /** The Ready condition's reason, e.g. Issued, Expired, UpstreamError. */
  reason: string;
  expiresAt?: Date;
  renewalTime?: Date;
}

/**
 * Every tokensync metric, named by Prometheus conventions (base units, _total counters, _seconds durations).
 * Labels are bounded: namespace/name of resources that exist, provider names, operation and result enums,
 * HTTP status codes. Token values and ids never become labels.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly tokenExpiration = new Gauge({
    name: 'tokensync_token_expiration_timestamp_seconds',
    help: 'Unix time at which the current token of a ServiceAccountToken expires (absent when it never expires).',
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  readonly tokenRenewal = new Gauge({
    name: 'tokensync_token_renewal_timestamp_seconds',
    help: 'Unix time at which tokensync will rotate the token of a ServiceAccountToken.',
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  readonly tokenReady = new Gauge({
    name: 'tokensync_token_ready',
    help: 'Ready condition of a ServiceAccountToken: 1 for the current condition status, 0 for the others.',
    labelNames: ['namespace', 'name', 'condition'],
    registers: [this.registry],
  });
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
  readonly leader = new Gauge({
    name: 'tokensync_leader',
    help: '1 when this process holds the leader-election lease (or runs without leader election).',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'tokensync_' });
  }

  /**
   * Records what one ServiceAccountToken looks like right now. The token controller calls this at the end of every
   * reconcile path (success, failure, backoff, recovery), so the series always agree with the Ready condition.
   */
  observeToken(token: TokenObservation): void {
    const labels = { namespace: token.namespace, name: token.name };
    if (token.expiresAt) this.tokenExpiration.set(labels, token.expiresAt.getTime() / 1000);
    else this.tokenExpiration.remove(labels);
    if (token.renewalTime) this.tokenRenewal.set(labels, token.renewalTime.getTime() / 1000);
    else this.tokenRenewal.remove(labels);
    for (const condition of ['True', 'False', 'Unknown'])
      this.tokenReady.set({ ...labels, condition }, condition === token.ready ? 1 : 0);
  }

  /** Drops the per-resource series of a deleted ServiceAccountToken, keeping cardinality bounded. */
  forgetToken(namespace: string, name: string): void {
    for (const gauge of [this.tokenExpiration, this.tokenRenewal]) gauge.remove({ namespace, name });
    for (const condition of ['True', 'False', 'Unknown']) this.tokenReady.remove({ namespace, name, condition });
  }
}
