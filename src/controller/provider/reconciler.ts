import { type AnyProvider, ConditionType, Reason } from '../../api/v1alpha1/index.ts';
import type { ProviderApi } from '../../kube/providers.ts';
import type { Logger } from '../../observability/logger.ts';
import { ProviderError } from '../../providers/errors.ts';
import { rfc3339, setCondition } from '../conditions.ts';
import { type ProviderResolver, providerKeyOf } from '../provider-resolver.ts';
import type { ReconcileResult } from '../result.ts';
import { describe } from '../token/failure.ts';

/** How often a provider's reachability is re-checked. */
export const RECHECK_MS = 5 * 60_000;

/**
 * Owns one decision: is this provider reachable and authenticated? Writes Ready on the provider. A check that is
 * still fresh (same generation, checked less than RECHECK_MS ago) is not repeated, so a restart calls no API.
 */
export class ProviderReconciler {
  readonly #providers: Pick<ProviderApi, 'patchStatus'>;
  readonly #resolver: ProviderResolver;
  readonly #logger: Logger;
  readonly #now: () => Date;

  constructor(options: {
    providers: Pick<ProviderApi, 'patchStatus'>;
    resolver: ProviderResolver;
    logger: Logger;
    now?: () => Date;
  }) {
    this.#providers = options.providers;
    this.#resolver = options.resolver;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
  }

  async reconcile(provider: AnyProvider): Promise<ReconcileResult> {
    const now = this.#now();
    const status = provider.status ?? {};
    const last = status.lastCheckedAt ? Date.parse(status.lastCheckedAt) : 0;
    const fresh = status.observedGeneration === provider.metadata.generation && now.getTime() - last < RECHECK_MS;
    if (fresh) return { requeueAfterMs: last + RECHECK_MS - now.getTime() };

    const providerKey = providerKeyOf(provider);
    this.#resolver.invalidate(providerKey);
    let ready: { status: 'True' | 'False'; reason: string; message: string };
    const resolution = await this.#resolver.resolveProvider(provider);
    if (!resolution.ok) {
      ready = { status: 'False', reason: resolution.reason, message: resolution.message };
    } else {
      try {
        await resolution.client.check();
        ready = {
          status: 'True',
          reason: Reason.Reachable,
          message: `${provider.spec.type} API reachable and credential accepted`,
        };
      } catch (error) {
        const rejected = ProviderError.is(error) && !error.retryable;
        ready = {
          status: 'False',
          reason: rejected ? Reason.UpstreamRejected : Reason.UpstreamError,
          message: describe(error),
        };
      }
    }
    const conditions = setCondition(
      status.conditions,
      { type: ConditionType.Ready, ...ready, observedGeneration: provider.metadata.generation },
      now,
    );
    await this.#providers.patchStatus(provider, {
      conditions,
      observedGeneration: provider.metadata.generation,
      lastCheckedAt: rfc3339(now),
    });
    this.#logger.info({ provider: providerKey, ready: ready.status, reason: ready.reason }, 'provider checked');
    // Not Ready is re-checked sooner, so a fixed credential is noticed without waiting five minutes.
    return { requeueAfterMs: ready.status === 'True' ? RECHECK_MS : 30_000 };
  }
}
