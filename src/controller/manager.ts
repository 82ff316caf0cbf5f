import {
  type AnyProvider,
  API_VERSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_LABEL,
  type ServiceAccountToken,
} from '../api/v1alpha1/index.ts';
import { isConflict, isNotFound, type KubeConfig } from '../kube/client.ts';
import { Informer, type InformerEvent, keyOf, stripManagedFields } from '../kube/informer.ts';
import { ItemExponentialRateLimiter, WorkQueue } from '../kube/workqueue.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { EgressPolicy } from '../providers/transport/egress-policy.ts';
import { FreshnessTracker } from './freshness.ts';
import { KubeAdapter } from './kube-adapter.ts';
import { type ObservedSecret, observeSecret } from './observed-secret.ts';
import type { EventSink, KubePort } from './ports.ts';
import { ProviderReconciler } from './provider/reconciler.ts';
import { ProviderResolver, providerKeyOf } from './provider-resolver.ts';
import type { ReconcileResult } from './result.ts';
import { RequeueAfterError } from './result.ts';
import { describe, TokenReconciler } from './token/reconciler.ts';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /** Watch one namespace; undefined = all. */
  namespace?: string;
  maxConcurrentReconciles: number;
  logger: Logger;
  metrics?: Metrics;
  events: EventSink;
  /** Every resource is reconciled at least this often (a level-triggered safety net). */
  resyncPeriodMs?: number;
  kube?: KubePort;
  now?: () => Date;
  random?: () => number;
  /** Informer watch timeout (tests shorten it). */
  watchTimeoutSeconds?: number;
  /** Where providers may connect (--egress-allow ...). Default: the built-in deny rules, nothing allowed. */
  egress?: EgressPolicy;
}

/**
 * Wires informers, work queues and reconcilers. Caches start at once (a standby keeps warm caches); workers run
 * only while `run(signal)` is active, i.e. while this process leads.
 */
export class Manager {
  readonly tokens: Informer<ServiceAccountToken>;
  readonly providers: Informer<AnyProvider>;
  readonly clusterProviders: Informer<AnyProvider>;
  readonly secrets: Informer<ObservedSecret>;
  readonly tokenQueue: WorkQueue;
  readonly providerQueue: WorkQueue;
  readonly tokenReconciler: TokenReconciler;
  readonly providerReconciler: ProviderReconciler;
  readonly #o: ManagerOptions;
  #synced = false;
  readonly #freshness = new FreshnessTracker();
  #resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: ManagerOptions) {
    this.#o = options;
    const { kubeConfig, namespace, logger } = options;
    const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    const informerLogger = logger.child({ component: 'informer' });
    const common = {
      kubeConfig,
      logger: informerLogger,
      ...(options.watchTimeoutSeconds ? { timeoutSeconds: options.watchTimeoutSeconds } : {}),
    };
    const withKind = (kind: string) => (obj: { metadata: object }) =>
      ({ ...stripManagedFields(obj), apiVersion: API_VERSION, kind }) as never;
    this.tokens = new Informer<ServiceAccountToken>({
      ...common,
      path: `/apis/tokensync.io/v1alpha1${scope}/serviceaccounttokens`,
      transform: withKind('ServiceAccountToken'),
    });
    this.providers = new Informer<AnyProvider>({
      ...common,
      path: `/apis/tokensync.io/v1alpha1${scope}/credentialsproviders`,
      transform: withKind('CredentialsProvider'),
    });
    this.clusterProviders = new Informer<AnyProvider>({
      ...common,
      path: '/apis/tokensync.io/v1alpha1/clustercredentialsproviders',
      transform: withKind('ClusterCredentialsProvider'),
    });
    // Only Secrets tokensync manages (by label), trimmed to metadata + keyed hash: memory scales with tokens, not
    // with every Secret in the cluster, and no token value is ever cached.
    this.secrets = new Informer<ObservedSecret>({
      ...common,
      path: `/api/v1${scope}/secrets`,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
      transform: observeSecret,
    });

    const metrics = options.metrics;
    const queueMetrics = (name: string) =>
      metrics
        ? {
            onAdd: () => metrics.workqueueAdds.inc({ name }),
            onDepth: (n: number) => metrics.workqueueDepth.set({ name }, n),
            onLatency: (ms: number) => metrics.workqueueLatency.observe({ name }, ms / 1000),
            onRetry: () => metrics.workqueueRetries.inc({ name }),
          }
        : {};
    // Upstream-facing failures back off from 500 ms to 5 min with jitter, per key (client-go's default starts at
    // 5 ms, which would hammer a failing credentials API).
    const limiter = () => new ItemExponentialRateLimiter({ baseMs: 500, maxMs: 300_000, jitter: 0.5 });
    this.tokenQueue = new WorkQueue({
      name: 'serviceaccounttoken',
      rateLimiter: limiter(),
      metrics: queueMetrics('serviceaccounttoken'),
    });
    this.providerQueue = new WorkQueue({ name: 'provider', rateLimiter: limiter(), metrics: queueMetrics('provider') });

    const kube = options.kube ?? new KubeAdapter(kubeConfig, this.#freshness);
    const resolver = new ProviderResolver({
      kube,
      getProvider: (ns, name) => this.providers.get(`${ns}/${name}`),
      getClusterProvider: (name) => this.clusterProviders.get(name),
      ...(metrics ? { metrics } : {}),
      ...(options.egress ? { egress: options.egress } : {}),
    });
    this.tokenReconciler = new TokenReconciler({
      kube,
      providers: resolver,
      cachedSecret: (ns, name) => this.secrets.get(`${ns}/${name}`),
      events: options.events,
      logger: logger.child({ controller: 'serviceaccounttoken' }),
      ...(metrics ? { metrics } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.random ? { random: options.random } : {}),
    });
    this.providerReconciler = new ProviderReconciler({
      kube,
      resolver,
      logger: logger.child({ controller: 'provider' }),
      ...(options.now ? { now: options.now } : {}),
    });

    this.tokens.onEvent((e) => {
      // Status is written only by this controller: reacting to it would make every failure record trigger the
      // next attempt (a hot loop). Spec, metadata and deletion changes are what we act on.
      if (e.type === 'update' && onlyStatusChanged(e.old, e.object)) return;
      this.tokenQueue.add(keyOf(e.object));
    });
    this.secrets.onEvent((e) => {
      const owner = e.object.metadata.labels?.[OWNER_LABEL];
      if (owner && e.object.metadata.namespace) this.tokenQueue.add(`${e.object.metadata.namespace}/${owner}`);
    });
    const onProvider = (e: InformerEvent<AnyProvider>) => {
      this.providerQueue.add(providerKeyOf(e.object));
      // Tokens waiting on this provider are woken when it changes (e.g. becomes Ready).
      if (e.type !== 'update' || e.old.metadata.generation !== e.object.metadata.generation || statusChanged(e)) {
        for (const sat of this.tokens.list()) {
          if (referencesProvider(sat, e.object)) this.tokenQueue.add(keyOf(sat));
        }
      }
    };
    this.providers.onEvent(onProvider);
    this.clusterProviders.onEvent(onProvider);
  }

  /** Starts the caches and waits until all are synced. */
  async start(): Promise<void> {
    await Promise.all([
      this.tokens.start(),
      this.providers.start(),
      this.clusterProviders.start(),
      this.secrets.start(),
    ]);
    this.#synced = true;
    const resync = this.#o.resyncPeriodMs ?? 3_600_000;
    this.#resyncTimer = setInterval(() => {
      for (const sat of this.tokens.list()) this.tokenQueue.add(keyOf(sat));
      for (const p of [...this.providers.list(), ...this.clusterProviders.list()])
        this.providerQueue.add(providerKeyOf(p));
    }, resync);
    this.#resyncTimer.unref();
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Runs workers until the signal aborts (leadership lost or shutdown); resolves when in-flight work finished. */
  async run(signal: AbortSignal): Promise<void> {
    for (const sat of this.tokens.list()) this.tokenQueue.add(keyOf(sat));
    for (const p of [...this.providers.list(), ...this.clusterProviders.list()])
      this.providerQueue.add(providerKeyOf(p));
    const workers: Promise<void>[] = [];
    for (let i = 0; i < this.#o.maxConcurrentReconciles; i++) {
      workers.push(this.#worker(this.tokenQueue, 'serviceaccounttoken', (key) => this.#reconcileToken(key)));
    }
    workers.push(this.#worker(this.providerQueue, 'provider', (key) => this.#reconcileProvider(key)));
    const stop = () => {
      void this.tokenQueue.shutDownWithDrain();
      void this.providerQueue.shutDownWithDrain();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    await Promise.all(workers);
  }

  async stop(): Promise<void> {
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    await Promise.all([this.tokenQueue.shutDownWithDrain(), this.providerQueue.shutDownWithDrain()]);
    await Promise.all([this.tokens.stop(), this.providers.stop(), this.clusterProviders.stop(), this.secrets.stop()]);
  }

  async #reconcileToken(key: string): Promise<ReconcileResult> {
    const sat = this.tokens.get(key);
    if (!sat) {
      this.#freshness.forget(key);
      return {};
    }
    // Our own write is on its way through the watch, which will enqueue the key again; the timer is a safety net.
    if (this.#freshness.isStale(key, sat.metadata.resourceVersion)) return { requeueAfterMs: 1000 };
    return this.tokenReconciler.reconcile(sat);
  }

  async #reconcileProvider(key: string): Promise<ReconcileResult> {
    const provider = key.startsWith('cluster/') ? this.clusterProviders.get(key.slice(8)) : this.providers.get(key);
    if (!provider) return {};
    return this.providerReconciler.reconcile(provider);
  }

  async #worker(
    queue: WorkQueue,
    controller: string,
    process: (key: string) => Promise<ReconcileResult>,
  ): Promise<void> {
    const { logger, metrics } = this.#o;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      let result = 'success';
      try {
        const outcome = await process(key);
        queue.forget(key);
        if (outcome.requeueAfterMs !== undefined) queue.addAfter(key, outcome.requeueAfterMs);
      } catch (error) {
        if (error instanceof RequeueAfterError) {
          result = 'requeue';
          queue.addAfter(key, error.delayMs);
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
}

function onlyStatusChanged(old: ServiceAccountToken, current: ServiceAccountToken): boolean {
  const a = old.metadata;
  const b = current.metadata;
  return (
    a.generation === b.generation &&
    a.deletionTimestamp === b.deletionTimestamp &&
    JSON.stringify(a.annotations ?? {}) === JSON.stringify(b.annotations ?? {}) &&
    JSON.stringify(a.labels ?? {}) === JSON.stringify(b.labels ?? {}) &&
    JSON.stringify(a.finalizers ?? []) === JSON.stringify(b.finalizers ?? [])
  );
}

function referencesProvider(sat: ServiceAccountToken, p: AnyProvider): boolean {
  const ref = sat.spec.providerRef;
  if (ref.name !== p.metadata.name) return false;
  if (p.kind === 'ClusterCredentialsProvider') return ref.kind === 'ClusterCredentialsProvider';
  return (
    (ref.kind ?? 'CredentialsProvider') === 'CredentialsProvider' && sat.metadata.namespace === p.metadata.namespace
  );
}

function statusChanged(e: InformerEvent<AnyProvider>): boolean {
  if (e.type !== 'update') return true;
  const ready = (p: AnyProvider) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return ready(e.old) !== ready(e.object);
}
