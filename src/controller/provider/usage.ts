import { FINALIZER, type ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import type { InformerEvent } from '../../kube/informer.ts';
import { keyOf } from '../../kube/informer.ts';
import { providerKeyOfRef } from '../provider-resolver.ts';

/**
 * Whether a token may still need its provider: it carries the revoke finalizer (it has tokens to revoke), or it is
 * not being deleted (it may mint any moment). `protect` adds the in-use finalizer just before the token's own
 * finalizer is written; counting only finalized tokens let the provider event of that very write release the
 * protection again, and a namespace deleted afterwards took the provider before the token.
 */
export function needsProvider(sat: ServiceAccountToken): boolean {
  return !!sat.metadata.finalizers?.includes(FINALIZER) || !sat.metadata.deletionTimestamp;
}

/**
 * Which tokens need each provider, kept up to date from the token cache's events. In-use protection asks on every
 * provider event whether any token still needs it; scanning the cache for that copied every cached token (100,000 at
 * the largest bench) each time, and a burst of creates makes a provider event per token.
 */
export class ProviderUsage {
  /** Provider key → keys of the tokens that need it. */
  readonly #tokens = new Map<string, Set<string>>();
  /**
   * Token key → the provider key it is counted under. Not derivable from the events: a watch's delete event carries
   * the object's last state (being deleted, finalizers gone), which would not say where the token was counted.
   */
  readonly #providerOf = new Map<string, string>();

  static of(tokens: Iterable<ServiceAccountToken>): ProviderUsage {
    const usage = new ProviderUsage();
    for (const sat of tokens) usage.observe({ type: 'add', object: sat });
    return usage;
  }

  /** Follows one event of the token cache (register before any handler that may ask). */
  observe(event: InformerEvent<ServiceAccountToken>): void {
    const key = keyOf(event.object);
    const before = this.#providerOf.get(key);
    const after = event.type !== 'delete' && needsProvider(event.object) ? providerKeyOfRef(event.object) : undefined;
    if (before === after) return;
    if (before !== undefined) {
      const set = this.#tokens.get(before);
      set?.delete(key);
      if (set?.size === 0) this.#tokens.delete(before);
      this.#providerOf.delete(key);
    }
    if (after !== undefined) {
      const set = this.#tokens.get(after);
      if (set) set.add(key);
      else this.#tokens.set(after, new Set([key]));
      this.#providerOf.set(key, after);
    }
  }

  /** Whether some token needs the provider with this key. */
  isNeeded(providerKey: string): boolean {
    return this.#tokens.has(providerKey);
  }

  /** Keys of the tokens that need the provider with this key. */
  tokensOf(providerKey: string): Iterable<string> {
    return this.#tokens.get(providerKey) ?? [];
  }
}
