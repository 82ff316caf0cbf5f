import { hostname } from 'node:os';
import { realClock } from '../clock.ts';
import { Manager } from '../controller/manager.ts';
import { clientNodeKubeConfigOf, loadClusterAccess } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import type { LeaderElector } from '../kube/leader-election.ts';
import { loadHashKey, SecretHasher } from '../kube/secrets.ts';
import { startHealthServer } from '../observability/health.ts';
import { createLogger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { KubeMetricsAuthorizer } from '../observability/metrics-auth.ts';
import { startMetricsServer } from '../observability/metrics-server.ts';
import { CONTROLLER_HELP, egressPolicyOf, parseControllerFlags } from './controller-flags.ts';

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
  // In a pod and with a static kubeconfig this never loads @kubernetes/client-node (docs/decisions/0015).
  const kubeConfig = await loadClusterAccess(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {});
  const metrics = new Metrics({ tokenSeries: flags['token-metrics'] });
  const identity = `${hostname()}_${process.pid}`;
  // events.ts still names client-node's KubeConfig type; it only hands it to kubeRequest, which takes either.
  const events = new EventRecorder({ kubeConfig: kubeConfig as never, component: 'tokensync', instance: identity });
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
  const manager = new Manager({
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
  let exitCode = 0;
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight reconciles');
    shutdown.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  await manager.start();
  logger.info({ tokens: manager.tokens.size() }, 'caches synced');

  if (!flags['leader-elect']) {
    metrics.leader.set(1);
    await manager.run(shutdown.signal);
  } else {
    const namespace = flags['leader-election-namespace'] ?? process.env['POD_NAMESPACE'];
    if (!namespace) {
      logger.error('--leader-elect needs --leader-election-namespace or POD_NAMESPACE');
      return 2;
    }
    // The elector is written on client-node's CoordinationV1Api: only with --leader-elect is client-node loaded.
    const { LeaderElector } = await import('../kube/leader-election.ts');
    elector = new LeaderElector({
      kubeConfig: await clientNodeKubeConfigOf(kubeConfig),
      namespace,
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
          // client-go exits here too: in-flight work of a deposed leader must not race the new one.
          logger.error('lost leadership; exiting so a fresh process can stand by');
          exitCode = 1;
          shutdown.abort();
        }
        leading = false;
      },
    });
    await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
    await elector.stop();
    await running.catch(() => undefined);
  }
  await manager.stop();
  await Promise.all([health.close(), metricsServer.close()]);
  logger.info('stopped');
  return exitCode;
}
