import type { Clock } from '../../clock.ts';
import type { ObservedSecret, SecretApi } from '../../kube/secrets.ts';
import type { TokenWriter } from '../../kube/tokens.ts';
import type { WorkloadApi } from '../../kube/workloads.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { EventSink } from '../ports.ts';
import type { ProviderResolver, Resolution } from '../provider-resolver.ts';
import type { RestartBatcher } from '../workloads/restart-batcher.ts';

/** The Secret operations the token controller uses (SecretApi on a real API server). */
export type SecretAccess = Pick<SecretApi, 'get' | 'create' | 'replace' | 'patchMetadata' | 'delete'>;

/**
 * Everything the token controller's steps need, injected once: Kubernetes access in tokensync's own types, the
 * provider resolver, the Secret cache, Events, logs, metrics, and the clock and randomness that tests control.
 */
export interface TokenDeps {
  tokens: TokenWriter;
  secrets: SecretAccess;
  /** Reads workloads: selector targets are listed, the rollout gate reads their status. */
  workloads: Pick<WorkloadApi, 'get' | 'list'>;
  /** Whether this installation may restart workloads (restartTargets); off unless the platform team enables it. */
  restartsEnabled?: boolean;
  /** Restarts workloads, shared between tokens that rotate together (one per manager). */
  restarts?: Pick<RestartBatcher, 'request'>;
  providers: Pick<ProviderResolver, 'resolve'>;
  /** In-use protection of the provider and its credential, before a mint (controller/provider/protection.ts). */
  protect?(resolution: Extract<Resolution, { ok: true }>): Promise<void>;
  /**
   * Sharding: whether this replica still holds the shard Lease of the token, asked right before the journal write
   * that precedes a mint (the write is resourceVersion-guarded too). Absent: one replica does everything.
   */
  mayAct?(namespace: string, name: string): boolean;
  /** The Secret informer's cache (metadata only); confirmed with a live read before it can cause a mint. */
  cachedSecret(namespace: string, name: string): ObservedSecret | undefined;
  events: EventSink;
  logger: Logger;
  metrics?: Metrics;
  clock: Clock;
  random: () => number;
}
