import { type AnyProvider, type Condition, ConditionType, Reason } from '../../api/v1alpha1/index.ts';
import { type Clock, realClock } from '../../clock.ts';
import type { ProviderApi } from '../../kube/providers.ts';
import type { Logger } from '../../observability/logger.ts';
import { ProviderError } from '../../providers/errors.ts';
import { getCondition, rfc3339, setCondition } from '../conditions.ts';
import { type ProviderResolver, providerKeyOf } from '../provider-resolver.ts';
import type { ReconcileResult } from '../result.ts';
import { describe } from '../token/failure.ts';

/** How often a Ready provider's reachability is re-checked. */
export const RECHECK_MS = 5 * 60_000;
/** How soon a provider that is not Ready is re-checked, so a fixed credential is noticed without a long wait. */
export const NOT_READY_RECHECK_MS = 30_000;
/** Bounds of the wait a vendor's Retry-After imposes on the next check. */
const MIN_RATE_LIMITED_RECHECK_MS = 1_000;
const MAX_RATE_LIMITED_RECHECK_MS = RECHECK_MS;

type ReadyCondition = Omit<Condition, 'lastTransitionTime' | 'observedGeneration' | 'type'>;

/**
 * Owns one decision: is this provider reachable and authenticated? Writes Ready on the provider. The checks cost
 * the vendor nothing (ProviderClient.check never mints a token or a session). A Ready result that is still fresh
 * (same generation, checked less than RECHECK_MS ago) is not repeated, so a restart calls no API; a provider that
 * is not Ready is re-checked after NOT_READY_RECHECK_MS. A 429 says nothing about the credential: it does not
 * turn Ready False, and the next check waits for the vendor's Retry-After.
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
    clock?: Pick<Clock, 'now'>;
  }) {
    this.#providers = options.providers;
    this.#resolver = options.resolver;
    this.#logger = options.logger;
    const clock = options.clock ?? realClock;
    this.#now = () => new Date(clock.now());
  }

  async reconcile(provider: AnyProvider): Promise<ReconcileResult> {
    const now = this.#now();
    const status = provider.status ?? {};
    const previous = getCondition(status.conditions, ConditionType.Ready);
    const last = status.lastCheckedAt ? Date.parse(status.lastCheckedAt) : 0;
    const interval = previous?.status === 'True' ? RECHECK_MS : NOT_READY_RECHECK_MS;
    const fresh = status.observedGeneration === provider.metadata.generation && now.getTime() - last < interval;
    if (fresh) return { requeueAfterMs: last + interval - now.getTime() };

    const providerKey = providerKeyOf(provider);
    // Re-read the credential; the client (and what it remembers) is kept unless the spec or credential changed.
    this.#resolver.invalidate(provider);
    const outcome = await this.#check(provider);
    const retryAfterMs = Math.min(
      MAX_RATE_LIMITED_RECHECK_MS,
      Math.max(MIN_RATE_LIMITED_RECHECK_MS, outcome.retryAfterMs ?? NOT_READY_RECHECK_MS),
    );
    if (outcome.rateLimited) {
      this.#logger.info({ provider: providerKey, requeueAfterMs: retryAfterMs }, 'provider check rate limited');
      // Nothing learned about the credential: keep the condition, and check again once the vendor allows it.
      if (previous) return { requeueAfterMs: retryAfterMs };
    }
    const conditions = setCondition(
      status.conditions,
      { type: ConditionType.Ready, ...outcome.ready, observedGeneration: provider.metadata.generation },
      now,
    );
    await this.#providers.patchStatus(provider, {
      conditions,
      observedGeneration: provider.metadata.generation,
      // A rate-limited first check has not checked anything yet: the next reconcile checks again.
      ...(outcome.rateLimited ? {} : { lastCheckedAt: rfc3339(now) }),
    });
    this.#logger.info(
      { provider: providerKey, ready: outcome.ready.status, reason: outcome.ready.reason },
      'provider checked',
    );
    if (outcome.rateLimited) return { requeueAfterMs: retryAfterMs };
    return { requeueAfterMs: outcome.ready.status === 'True' ? RECHECK_MS : NOT_READY_RECHECK_MS };
  }

  async #check(
    provider: AnyProvider,
  ): Promise<{ ready: ReadyCondition; rateLimited: boolean; retryAfterMs?: number | undefined }> {
    const resolution = await this.#resolver.resolveProvider(provider);
    if (!resolution.ok) {
      return { ready: { status: 'False', reason: resolution.reason, message: resolution.message }, rateLimited: false };
    }
    try {
      const result = await resolution.client.check();
      return {
        ready: {
          status: 'True',
          reason: Reason.Reachable,
          message: result?.message
            ? `${provider.spec.type}: ${result.message}`
            : `${provider.spec.type} API reachable and credential accepted`,
        },
        rateLimited: false,
      };
    } catch (error) {
      const rateLimited = ProviderError.is(error) && error.code === 'RateLimited';
      const rejected = ProviderError.is(error) && !error.retryable;
      return {
        ready: rateLimited
          ? {
              status: 'Unknown',
              reason: Reason.UpstreamError,
              message: `${describe(error)}; re-checking after the vendor's Retry-After`,
            }
          : {
              status: 'False',
              reason: rejected ? Reason.UpstreamRejected : Reason.UpstreamError,
              message: describe(error),
            },
        rateLimited,
        retryAfterMs: ProviderError.is(error) ? error.retryAfterMs : undefined,
      };
    }
  }
}
