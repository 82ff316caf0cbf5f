import {
  type AnyProvider,
  API_VERSION,
  CREDENTIAL_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_LABEL,
  type ServiceAccountToken,
} from '../api/v1alpha1/index.ts';
import { type Clock, realClock } from '../clock.ts';
import type { KubeConfig } from '../kube/client.ts';
import { Informer, type InformerEvent, type InformerOptions, keyOf, type Meta } from '../kube/informer.ts';
import { type Cache, InformerSet } from '../kube/informer-set.ts';
import { NamespaceApi } from '../kube/namespaces.ts';
import { paths } from '../kube/paths.ts';
import { ProviderApi } from '../kube/providers.ts';
import { type ObservedSecret, observeSecret, SecretApi, type SecretHasher } from '../kube/secrets.ts';
import { shardOf } from '../kube/sharding/assignment.ts';
import { TokenApi } from '../kube/tokens.ts';
import { WorkloadApi } from '../kube/workloads.ts';
import { ItemExponentialRateLimiter, WorkQueue } from '../kube/workqueue.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { EgressPolicy } from '../providers/transport/egress-policy.ts';
import { hasFinalizer, onlyStatusChanged, providerReadyChanged } from './changes.ts';
import { FreshnessTracker } from './freshness.ts';
import type { EventSink } from './ports.ts';
import { credentialRefOf, ProviderProtection } from './provider/protection.ts';
import { ProviderReconciler } from './provider/reconciler.ts';
import { ProviderUsage } from './provider/usage.ts';
import { ProviderResolver, providerKeyOf, providerKeyOfRef } from './provider-resolver.ts';
import { earliest, type ReconcileResult } from './result.ts';
import { type ShardGate, ShardWork } from './shard-work.ts';
import { TokenReconciler } from './token/reconciler.ts';
import { runWorker } from './worker.ts';
import { RestartBatcher } from './workloads/restart-batcher.ts';

/** Work-queue keys of credential Secrets share the provider queue; this prefix tells them apart. */
const SECRET_KEY_PREFIX = 'secret:';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /**
   * Serve only these namespaces (namespaced RBAC mode: one informer per namespace, nothing listed cluster-wide
   * but ClusterCredentialsProviders). Undefined or empty: every namespace.
   */
  namespaces?: string[];
  /**
   * The controller's own namespace. In namespaced mode the credential Secrets of ClusterCredentialsProviders are
   * watched there too (the chart gives a Role for them there).
   */
  controllerNamespace?: string;
  maxConcurrentReconciles: number;
  logger: Logger;
  metrics?: Metrics;
  events: EventSink;
  /** Keys the hashes of the Secrets tokensync writes (kube/secrets.ts loadHashKey). */
  hasher: SecretHasher;
  /** Restart the workloads ServiceAccountTokens list in restartTargets (an opt-in grant; default false). */
  restartsEnabled?: boolean;
  /** Read only Secrets labelled tokensync.io/credential=true as provider credentials (default true). */
  requireCredentialLabel?: boolean;
  /** Every resource is reconciled at least this often (a level-triggered safety net). */
  resyncPeriodMs?: number;
  clock?: Clock;
  random?: () => number;
  /** Informer watch timeout (tests shorten it). */
  watchTimeoutSeconds?: number;
  /** Where providers may connect (--egress-allow ...). Default: the built-in deny rules, nothing allowed. */
  egress?: EgressPolicy;
  /**
   * Sharding (--sharding): work only on the keys of the shards this replica holds (controller/shard-work.ts). The
   * caller forwards the coordinator's acquired/lost/drain to `shardWork`. Absent: this process does everything.
   */
  sharding?: ShardGate;
}

/**
 * Wires informers, work queues and reconcilers. Caches start at once (a standby keeps warm caches); workers run
 * only while `run(signal)` is active, i.e. while this process leads, or, sharded, for as long as the process runs
 * with queues that admit only the keys of the shards it holds.
 */
export class Manager {
  readonly tokens: Cache<ServiceAccountToken>;
  readonly providers: Cache<AnyProvider>;
  readonly clusterProviders: Cache<AnyProvider>;
  readonly secrets: Cache<ObservedSecret>;
  readonly credentials: Cache<ObservedSecret>;
  readonly tokenQueue: WorkQueue;
  readonly providerQueue: WorkQueue;
  readonly tokenReconciler: TokenReconciler;
  readonly providerReconciler: ProviderReconciler;
  readonly protection: ProviderProtection;
  readonly restarts: RestartBatcher;
  /** Sharding: what the shard coordinator's callbacks do to the queues. */
  readonly shardWork: ShardWork | undefined;
  readonly #admit: ((key: string) => boolean) | undefined;
  readonly #o: ManagerOptions;
  #synced = false;
  readonly #freshness = new FreshnessTracker();
  /** Which tokens need which provider (in-use protection, waking tokens when their provider changes). */
  readonly #usage = new ProviderUsage();
  #resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: ManagerOptions) {
    this.#o = options;
    const { kubeConfig, logger } = options;
    const namespaces = options.namespaces?.length ? [...new Set(options.namespaces)] : undefined;
    const informerLogger = logger.child({ component: 'informer' });
    const common = {
      kubeConfig,
      logger: informerLogger,
      ...(options.watchTimeoutSeconds ? { timeoutSeconds: options.watchTimeoutSeconds } : {}),
    };
    /** One informer over every namespace, or one per served namespace behind a single cache. */
    const watch = <T extends Meta>(
      path: (namespace?: string) => string,
      extra: Pick<InformerOptions<T>, 'labelSelector' | 'transform'>,
      scope: string[] | undefined = namespaces,
    ): Cache<T> =>
      scope
        ? new InformerSet(scope.map((ns) => new Informer<T>({ ...common, ...extra, path: path(ns) })))
        : new Informer<T>({ ...common, ...extra, path: path() });
    const withKind = (kind: string) => (obj: { metadata: object }) =>
      ({ ...obj, apiVersion: API_VERSION, kind }) as never;
    this.tokens = watch<ServiceAccountToken>(paths.tokens, { transform: withKind('ServiceAccountToken') });
    this.providers = watch<AnyProvider>(paths.providers, { transform: withKind('CredentialsProvider') });
    this.clusterProviders = new Informer<AnyProvider>({
      ...common,
      path: paths.clusterProviders(),
      transform: withKind('ClusterCredentialsProvider'),
    });
    // Only Secrets tokensync manages (by label), trimmed to metadata: memory scales with tokens, not with every
    // Secret in the cluster, and no token value is ever cached. A version other than the one status recorded is
    // read live and compared by keyed hash (token/reconciler.ts).
    this.secrets = watch<ObservedSecret>(paths.secrets, {
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
      transform: (raw) => observeSecret(raw),
    });
    // Secrets marked as provider credentials, metadata only: which Secrets may be read as a credential, and their
    // in-use finalizer. In namespaced mode, also the controller's namespace (ClusterCredentialsProvider credentials).
    const credentialScope =
      namespaces && options.controllerNamespace
        ? [...new Set([...namespaces, options.controllerNamespace])]
        : namespaces;
    this.credentials = watch<ObservedSecret>(
      paths.secrets,
      { labelSelector: `${CREDENTIAL_LABEL}=true`, transform: (raw) => observeSecret(raw) },
      credentialScope,
    );

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
    const gate = options.sharding;
    this.#admit = gate ? ShardWork.admit(gate) : undefined;
    const queue = (name: string) =>
      new WorkQueue({
        name,
        rateLimiter: limiter(),
        metrics: queueMetrics(name),
        ...(this.#admit ? { admit: this.#admit } : {}),
      });
    this.tokenQueue = queue('serviceaccounttoken');
    this.providerQueue = queue('provider');
    this.shardWork = gate
      ? new ShardWork({
          gate,
          queues: [this.tokenQueue, this.providerQueue],
          keys: () => [
            this.tokens.list().map(keyOf),
            [
              ...[...this.providers.list(), ...this.clusterProviders.list()].map(providerKeyOf),
              ...this.credentials.list().map((s) => `${SECRET_KEY_PREFIX}${keyOf(s)}`),
            ],
          ],
        })
      : undefined;

    const clock = options.clock ?? realClock;
    const tokenApi = new TokenApi(kubeConfig, {
      onWrite: (key, before, after) => this.#freshness.wrote(key, before, after),
    });
    const providerApi = new ProviderApi(kubeConfig);
    const secretApi = new SecretApi(kubeConfig, options.hasher);
    const resolver = new ProviderResolver({
      secrets: secretApi,
      namespaces: new NamespaceApi(kubeConfig, clock),
      getProvider: (ns, name) => this.providers.get(`${ns}/${name}`),
      getClusterProvider: (name) => this.clusterProviders.get(name),
      clock,
      ...(options.requireCredentialLabel === false ? { requireCredentialLabel: false } : {}),
      isLabelledCredential: (ns, name) => this.credentials.get(`${ns}/${name}`) !== undefined,
      ...(metrics ? { metrics } : {}),
      ...(options.egress ? { egress: options.egress } : {}),
    });
    this.protection = new ProviderProtection({
      providers: providerApi,
      secrets: secretApi,
      usage: this.#usage,
      allProviders: () => [...this.providers.list(), ...this.clusterProviders.list()],
      credentialSecret: (ns, name) => this.credentials.get(`${ns}/${name}`),
      credentialSecrets: () => this.credentials.list(),
      logger: logger.child({ controller: 'protection' }),
    });
    const workloadApi = new WorkloadApi(kubeConfig);
    this.restarts = new RestartBatcher({
      api: workloadApi,
      clock,
      logger: logger.child({ component: 'restarts' }),
      ...(metrics ? { metrics } : {}),
      // A batched restart happened: the tokens that asked for it record it (and may open their rollout gate).
      wake: (key) => this.tokenQueue.add(key),
    });
    this.tokenReconciler = new TokenReconciler({
      tokens: tokenApi,
      secrets: secretApi,
      workloads: workloadApi,
      restartsEnabled: options.restartsEnabled ?? false,
      restarts: this.restarts,
      providers: resolver,
      protect: (r) => this.protection.protect(r),
      ...(gate ? { mayAct: (ns: string, name: string) => gate.owns(shardOf(ns, name, gate.shards)) } : {}),
      cachedSecret: (ns, name) => this.secrets.get(`${ns}/${name}`),
      events: options.events,
      logger: logger.child({ controller: 'serviceaccounttoken' }),
      ...(metrics ? { metrics } : {}),
      clock,
      random: options.random ?? Math.random,
    });
    this.providerReconciler = new ProviderReconciler({
      providers: providerApi,
      resolver,
      logger: logger.child({ controller: 'provider' }),
      clock,
    });

    // First: the handlers below, and provider reconciles, ask it about the cache as it is after this event.
    this.tokens.onEvent((e) => this.#usage.observe(e));
    this.tokens.onEvent((e) => {
      // In-use protection: a token that gains or loses its finalizer (or goes) may release its provider.
      if (e.type !== 'update' || hasFinalizer(e.old) !== hasFinalizer(e.object)) this.#wakeProvidersOf(e.object);
      // Status is written only by this controller: reacting to it would make every failure record trigger the
      // next attempt (a hot loop). Spec, metadata and deletion changes are what we act on.
      if (e.type === 'update' && onlyStatusChanged(e.old, e.object)) return;
      this.tokenQueue.add(keyOf(e.object));
    });
    this.credentials.onEvent((e) => {
      this.providerQueue.add(`${SECRET_KEY_PREFIX}${keyOf(e.object)}`);
      // A credential that appears, is labelled or changes makes its providers worth checking again (and their tokens
      // follow when the provider's Ready changes).
      if (e.type === 'update' && e.old.metadata.resourceVersion === e.object.metadata.resourceVersion) return;
      for (const p of [...this.providers.list(), ...this.clusterProviders.list()]) {
        const ref = credentialRefOf(p);
        if (ref && `${ref.namespace}/${ref.name}` === keyOf(e.object)) this.providerQueue.add(providerKeyOf(p));
      }
    });
    this.secrets.onEvent((e) => {
      const owner = e.object.metadata.labels?.[OWNER_LABEL];
      if (owner && e.object.metadata.namespace) this.tokenQueue.add(`${e.object.metadata.namespace}/${owner}`);
    });
    const onProvider = (e: InformerEvent<AnyProvider>) => {
      this.providerQueue.add(providerKeyOf(e.object));
      // Its credential Secret may be released (the provider went, or points at another Secret now).
      for (const p of e.type === 'update' ? [e.old, e.object] : [e.object]) {
        const ref = credentialRefOf(p);
        if (ref) this.providerQueue.add(`${SECRET_KEY_PREFIX}${ref.namespace}/${ref.name}`);
      }
      // Tokens waiting on this provider are woken when it changes (e.g. becomes Ready).
      if (
        e.type !== 'update' ||
        e.old.metadata.generation !== e.object.metadata.generation ||
        providerReadyChanged(e)
      ) {
        for (const key of this.#usage.tokensOf(providerKeyOf(e.object))) this.tokenQueue.add(key);
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
      this.credentials.start(),
    ]);
    this.#synced = true;
    const resync = this.#o.resyncPeriodMs ?? 3_600_000;
    // Re-checks go to the queues' low lane: a resource created or changed meanwhile is not queued behind them.
    this.#resyncTimer = setInterval(() => {
      for (const sat of this.tokens.list()) this.tokenQueue.add(keyOf(sat), 'low');
      for (const p of [...this.providers.list(), ...this.clusterProviders.list()])
        this.providerQueue.add(providerKeyOf(p), 'low');
    }, resync);
    this.#resyncTimer.unref();
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Runs workers until the signal aborts (leadership lost or shutdown); resolves when in-flight work finished. */
  async run(signal: AbortSignal): Promise<void> {
    // Everything is looked at once on taking over, in the low lane: a token created meanwhile goes first.
    for (const sat of this.tokens.list()) this.tokenQueue.add(keyOf(sat), 'low');
    for (const p of [...this.providers.list(), ...this.clusterProviders.list()])
      this.providerQueue.add(providerKeyOf(p), 'low');
    const workers: Promise<void>[] = [];
    for (let i = 0; i < this.#o.maxConcurrentReconciles; i++) {
      workers.push(this.#worker(this.tokenQueue, 'serviceaccounttoken', (key) => this.#reconcileToken(key)));
    }
    workers.push(this.#worker(this.providerQueue, 'provider', (key) => this.#reconcileProvider(key)));
    this.restarts.start();
    const stop = () => {
      // Batched restarts not done yet stay owed in their tokens' status: the next leader performs them.
      this.restarts.stop();
      void this.tokenQueue.shutDownWithDrain();
      void this.providerQueue.shutDownWithDrain();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    await Promise.all(workers);
  }

  async stop(): Promise<void> {
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    this.restarts.stop();
    await Promise.all([this.tokenQueue.shutDownWithDrain(), this.providerQueue.shutDownWithDrain()]);
    await Promise.all([
      this.tokens.stop(),
      this.providers.stop(),
      this.clusterProviders.stop(),
      this.secrets.stop(),
      this.credentials.stop(),
    ]);
  }

  async #reconcileToken(key: string): Promise<ReconcileResult> {
    const sat = this.tokens.get(key);
    if (!sat) {
      this.#freshness.forget(key);
      return {};
    }
    // Our own write is on its way through the watch, which will enqueue the key again; the timer is a safety net.
    if (this.#freshness.isStale(key, sat.metadata.resourceVersion))
      return { requeueAfterMs: 1000, requeuePriority: 'low' };
    return this.tokenReconciler.reconcile(sat);
  }

  async #reconcileProvider(key: string): Promise<ReconcileResult> {
    if (key.startsWith(SECRET_KEY_PREFIX)) {
      const secret = this.credentials.get(key.slice(SECRET_KEY_PREFIX.length));
      if (secret) await this.protection.releaseSecret(secret);
      return {};
    }
    // "cluster/NAME" is a ClusterCredentialsProvider's key, and also that of a CredentialsProvider NAME in a namespace
    // named "cluster": both are looked at (only the cluster one was, so the namespaced one was never checked).
    const providers = key.startsWith('cluster/')
      ? [this.clusterProviders.get(key.slice(8)), this.providers.get(key)]
      : [this.providers.get(key)];
    let requeueAfterMs: number | undefined;
    for (const provider of providers) {
      if (provider)
        requeueAfterMs = earliest(requeueAfterMs, (await this.#reconcileOneProvider(provider)).requeueAfterMs);
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  async #reconcileOneProvider(provider: AnyProvider): Promise<ReconcileResult> {
    await this.protection.releaseProvider(provider);
    // A provider being deleted waits only for its tokens: no reachability checks against its API any more.
    if (provider.metadata.deletionTimestamp) return {};
    return this.providerReconciler.reconcile(provider);
  }

  /** Queues the provider a token uses (its in-use finalizer may have to go); a key with no provider is a no-op. */
  #wakeProvidersOf(sat: ServiceAccountToken): void {
    this.providerQueue.add(providerKeyOfRef(sat));
  }

  #worker(queue: WorkQueue, controller: string, process: (key: string) => Promise<ReconcileResult>): Promise<void> {
    const { logger, metrics } = this.#o;
    return runWorker({ queue, controller, process, logger, metrics, admit: this.#admit });
  }
}
