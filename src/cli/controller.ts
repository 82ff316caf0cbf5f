import { hostname } from 'node:os';
import { realClock } from '../clock.ts';
import { Manager } from '../controller/manager.ts';
import { loadClusterAccess } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { loadHashKey, SecretHasher } from '../kube/secrets.ts';
import { ShardCoordinator } from '../kube/sharding/coordinator.ts';
import { startHealthServer } from '../observability/health.ts';
import { createLogger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { KubeMetricsAuthorizer } from '../observability/metrics-auth.ts';
import { startMetricsServer } from '../observability/metrics-server.ts';
import { CONTROLLER_HELP, egressPolicyOf, parseControllerFlags } from './controller-flags.ts';

/**
 * How long shutdown waits for queued Events (10/s after a burst: about 50 of a backlog). Well inside the default
 * 30 s termination grace period, after the in-flight reconciles have finished.
 */
const EVENT_DRAIN_MS = 5_000;

/** `tokensync controller`: the operator process. */
export async function run(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parseControllerFlags>;
  try {
    flags = parseControllerFlags(argv);
  } catch (error) {
    console.error(`tokensync controller: ${(error as Error).message}\n\n${CONTROLLER_HELP}`);
    return 2;
  }
  if (flags.help) {
    console.log(CONTROLLER_HELP);
    return 0;
  }
  const logger = createLogger({ level: flags['log-level'], format: flags['log-format'] });
  // In a pod and with a static kubeconfig this never loads @kubernetes/client-node (docs/decisions/0016).
  const kubeConfig = await loadClusterAccess(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {});
  const metrics = new Metrics({ tokenSeries: flags['token-metrics'] });
  const identity = `${hostname()}_${process.pid}`;
  const events = new EventRecorder({
    kubeConfig,
    component: 'tokensync',
    instance: identity,
    logger,
    onDropped: (reason, type) => metrics.eventsDropped.inc({ reason, type }),
  });
  const [hashNamespace, hashName] = (
    flags['hash-key-secret'] ??
    `${process.env['POD_NAMESPACE'] ?? flags['leader-election-namespace'] ?? 'tokensync-system'}/tokensync-hash-key`
  ).split('/') as [string, string];
  let hasher: SecretHasher;
  try {
    hasher = new SecretHasher(await loadHashKey(kubeConfig, hashNamespace, hashName));
  } catch (error) {
    logger.error(
      { secret: `${hashNamespace}/${hashName}`, err: (error as Error).message },
      'cannot read or create the Secret-hash key; create the namespace or set --hash-key-secret',
    );
    return 1;
  }
  const leaseNamespace = flags['leader-election-namespace'] ?? process.env['POD_NAMESPACE'];
  if ((flags['leader-elect'] || flags.sharding) && !leaseNamespace) {
    logger.error('--leader-elect and --sharding need --leader-election-namespace or POD_NAMESPACE');
    return 2;
  }
  // Sharding: the coordinator decides which shards this replica works on; the manager's queues follow it.
  const coordinator = flags.sharding
    ? new ShardCoordinator({
        kubeConfig,
        namespace: leaseNamespace!,
        identity,
        shards: flags.shards,
        prefix: flags['shard-lease-prefix'],
        leaseDurationMs: flags['lease-duration'],
        renewDeadlineMs: flags['renew-deadline'],
        retryPeriodMs: flags['retry-period'],
        logger: logger.child({ component: 'shards' }),
        onAcquired: (shard) => manager.shardWork?.acquired(shard),
        onLost: (shard) => manager.shardWork?.lost(shard),
        drain: async (shard) => manager.shardWork?.drain(shard),
        onOwnedChange: (owned) => metrics.shardsOwned.set(owned),
      })
    : undefined;
  const manager: Manager = new Manager({
    ...(coordinator ? { sharding: coordinator } : {}),
    hasher,
    requireCredentialLabel: flags['require-credential-label'],
    restartsEnabled: flags['enable-restart-targets'],
    kubeConfig,
    ...(flags.namespace
      ? {
          namespaces: flags.namespace
            .split(',')
            .map((n) => n.trim())
            .filter(Boolean),
        }
      : {}),
    controllerNamespace: hashNamespace,
    maxConcurrentReconciles: flags['max-concurrent-reconciles'],
    logger,
    metrics,
    events,
    resyncPeriodMs: flags['resync-period'],
    egress: egressPolicyOf(flags),
  });

  let leading = !flags['leader-elect'];
  let elector: LeaderElector | undefined;
  const health = await startHealthServer(flags['health-probe-bind-address'], {
    healthy: () => true,
    // Ready once caches are synced; a standby is ready too (it is healthy and can take over).
    ready: () => (manager.hasSynced() ? { ok: true } : { ok: false, reason: 'caches not synced' }),
  });
  const metricsServer = await startMetricsServer(flags['metrics-bind-address'], metrics, {
    logger,
    ...(flags['metrics-secure']
      ? {
          secure: {
            authorizer: new KubeMetricsAuthorizer({ kubeConfig, clock: realClock }),
            clock: realClock,
            ...(flags['metrics-cert-dir'] ? { certDir: flags['metrics-cert-dir'] } : {}),
          },
        }
      : {}),
  });
  logger.info(
    {
      health: health.url,
      metrics: metricsServer.url,
      namespace: flags.namespace ?? '(all)',
      identity,
      egressAllow: flags['egress-allow'],
      clusterServiceCidrs: flags['cluster-service-cidrs'],
      clusterPodCidrs: flags['cluster-pod-cidrs'],
      egressDeny: flags['egress-deny'],
    },
    'starting',
  );

  const shutdown = new AbortController();
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight reconciles');
    shutdown.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  await manager.start();
  logger.info({ tokens: manager.tokens.size() }, 'caches synced');

  if (coordinator) {
    // Every replica runs its workers; the queues admit only the keys of the shards it holds. On shutdown the shards
    // are handed back first (their work in flight finishes, then the Leases are released), then the workers stop.
    logger.info({ shards: flags.shards, identity }, 'sharding: working on the shards this replica holds');
    const workers = new AbortController();
    const working = manager.run(workers.signal);
    const coordinating = coordinator.run();
    await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
    await coordinator.stop();
    await coordinating.catch(() => undefined);
    workers.abort();
    await working;
  } else if (!flags['leader-elect']) {
    metrics.leader.set(1);
    await manager.run(shutdown.signal);
  } else {
    elector = new LeaderElector({
      kubeConfig,
      namespace: leaseNamespace!,
      name: flags['leader-election-id'],
      identity,
      leaseDurationMs: flags['lease-duration'],
      renewDeadlineMs: flags['renew-deadline'],
      retryPeriodMs: flags['retry-period'],
      logger,
      onChange: (leader) => metrics.leader.set(leader ? 1 : 0),
    });
    const running = elector.run({
      onStartedLeading: async (signal) => {
        leading = true;
        logger.info('became leader');
        const both = AbortSignal.any([signal, shutdown.signal]);
        await manager.run(both);
      },
      onStoppedLeading: () => {
        if (leading && !shutdown.signal.aborted) {
          // client-go exits here at once (klog.Fatalf), and so do we: draining would let a deposed leader's in-flight
          // reconciles write while the new leader starts. Exiting mid-reconcile is a crash like any SIGKILL, which the
          // mint journal is there to survive (R1). pino's default destination is synchronous: the line is out first.
          logger.error('lost leadership; exiting at once so a fresh process can stand by');
          process.exit(1);
        }
        leading = false;
      },
    });
    await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
    await elector.stop();
    await running.catch(() => undefined);
  }
  await manager.stop();
  // Events still queued behind the write budget (a burst just before the signal) get a few seconds, Warnings first.
  const unwritten = await events.drain(EVENT_DRAIN_MS);
  if (unwritten > 0) logger.warn({ unwritten }, 'Events not written before exit');
  await Promise.all([health.close(), metricsServer.close()]);
  logger.info('stopped');
  return 0;
}
