import { type AnyProvider, IN_USE_FINALIZER, type ObjectMeta } from '../../api/v1alpha1/index.ts';
import { failpoint } from '../../failpoints.ts';
import type { ProviderApi } from '../../kube/providers.ts';
import type { ObservedSecret, SecretApi } from '../../kube/secrets.ts';
import type { Logger } from '../../observability/logger.ts';
import { providerKeyOf, type Resolution } from '../provider-resolver.ts';
import type { ProviderUsage } from './usage.ts';

type ResolvedOk = Extract<Resolution, { ok: true }>;

export interface ProtectionOptions {
  providers: Pick<ProviderApi, 'setFinalizers'>;
  secrets: Pick<SecretApi, 'patchMetadata'>;
  /** Which tokens need which provider (kept from the token cache). */
  usage: Pick<ProviderUsage, 'isNeeded'>;
  /** Cached CredentialsProviders (all kinds) and credential Secrets (metadata only). */
  allProviders(): AnyProvider[];
  credentialSecret(namespace: string, name: string): ObservedSecret | undefined;
  credentialSecrets(): ObservedSecret[];
  logger: Logger;
}

/** Where a provider's management credential lives. */
export function credentialRefOf(p: AnyProvider): { namespace: string; name: string } | undefined {
  const ref = p.spec.auth?.secretRef as { name: string; namespace?: string } | undefined;
  const namespace = ref?.namespace ?? p.metadata.namespace;
  return ref && namespace ? { namespace, name: ref.name } : undefined;
}

/**
 * In-use protection, as Kubernetes protects a PersistentVolumeClaim a Pod still uses: a provider, and the Secret
 * holding its credential, carry the finalizer tokensync.io/in-use while any ServiceAccountToken that may still have
 * to revoke tokens (one carrying the revoke finalizer, or one not being deleted) uses them. Deleting a namespace with all three inside then
 * finishes in the right order by itself: tokens revoke and go, then the provider, then its credential.
 *
 * The finalizers are added by the token controller before its first mint (`protect`: a finalizer cannot be added to
 * an object already being deleted, so it must be there before anything needs it) and removed by `release`, which
 * runs on every provider and credential-Secret event.
 */
export class ProviderProtection {
  readonly #o: ProtectionOptions;
  /** Protections being written, per provider: the workers that mint with one provider at once share one write. */
  readonly #inFlight = new Map<string, Promise<void>>();
  /**
   * Per object protected ("provider <key>", "secret <ns>/<name>"): the version our finalizer write replaced. A worker
   * that comes after the shared write but before the watch delivers it still sees that version; writing on it again
   * could only end in a conflict (31 of 32 workers took one, and a retry, at the start of a burst).
   */
  readonly #wroteOver = new Map<string, string>();

  constructor(options: ProtectionOptions) {
    this.#o = options;
  }

  /**
   * Before a mint: the provider and its credential must outlive the tokens minted with them. Sixteen workers that
   * take the first tokens of a new provider at once share the one write (each writing on the version it resolved
   * made all but one fail with a conflict, and those tokens took a retry and an extra status write).
   */
  async protect(r: ResolvedOk): Promise<void> {
    const running = this.#inFlight.get(r.providerKey);
    if (
      running &&
      (await running.then(
        () => true,
        () => false,
      ))
    ) {
      failpoint('after-protect');
      return;
    }
    const mine = this.#protect(r);
    this.#inFlight.set(r.providerKey, mine);
    try {
      await mine;
    } finally {
      if (this.#inFlight.get(r.providerKey) === mine) this.#inFlight.delete(r.providerKey);
    }
  }

  async #protect(r: ResolvedOk): Promise<void> {
    const p = r.provider;
    const wroteProvider = await this.#addFinalizer(`provider ${r.providerKey}`, p.metadata, (meta) =>
      this.#o.providers.setFinalizers(p, [...(meta.finalizers ?? []), IN_USE_FINALIZER], {
        resourceVersion: meta.resourceVersion!,
      }),
    );
    if (wroteProvider)
      this.#o.logger.info(
        { provider: r.providerKey },
        'provider in use: protected from deletion until its tokens are gone',
      );
    const { namespace, name } = r.credentialSecret;
    // The cache is fresher than the metadata the resolver read (it may have added the finalizer since).
    const meta: ObjectMeta = this.#o.credentialSecret(namespace, name)?.metadata ?? r.credentialSecret.metadata;
    await this.#addFinalizer(`secret ${namespace}/${name}`, meta, async (current) => {
      const updated = await this.#o.secrets.patchMetadata(
        namespace,
        name,
        { finalizers: [...(current.finalizers ?? []), IN_USE_FINALIZER] },
        { resourceVersion: current.resourceVersion! },
      );
      r.credentialSecret.metadata = updated.metadata;
    });
    failpoint('after-protect');
  }

  /**
   * Adds the in-use finalizer to the object `id` if `meta` (its cached version) lacks it, guarded by that version so
   * that nobody else's finalizer change is lost (a conflict fails the token's reconcile, which is retried). Returns
   * whether it wrote.
   */
  async #addFinalizer(
    id: string,
    meta: ObjectMeta,
    write: (current: ObjectMeta) => Promise<unknown>,
  ): Promise<boolean> {
    if (!this.#lacksProtection(id, meta)) return false;
    await write(meta);
    this.#wroteOver.set(id, meta.resourceVersion!);
    return true;
  }

  /**
   * Whether the object `id` (provider or credential Secret), as cached in `meta`, still needs the in-use finalizer
   * written: it lacks it, is not being deleted (the API server refuses new finalizers then), and is not the version
   * our own protecting write replaced (then the finalizer is on the server already).
   */
  #lacksProtection(id: string, meta: ObjectMeta): boolean {
    if (meta.finalizers?.includes(IN_USE_FINALIZER) || meta.deletionTimestamp) return false;
    return meta.resourceVersion === undefined || this.#wroteOver.get(id) !== meta.resourceVersion;
  }

  /** Whether some token may still need this provider (which tokens count: `needsProvider`). */
  needed(p: AnyProvider): boolean {
    return this.#o.usage.isNeeded(providerKeyOf(p));
  }

  /** A provider event: drop its finalizer once no token needs it. */
  async releaseProvider(p: AnyProvider): Promise<void> {
    if (!p.metadata.finalizers?.includes(IN_USE_FINALIZER) || this.needed(p)) return;
    await this.#o.providers.setFinalizers(
      p,
      p.metadata.finalizers.filter((f) => f !== IN_USE_FINALIZER),
      { resourceVersion: p.metadata.resourceVersion! },
    );
    this.#o.logger.info({ provider: p.metadata.name, namespace: p.metadata.namespace }, 'provider no longer in use');
  }

  /** A credential-Secret event: drop its finalizer once no needed provider reads it. */
  async releaseSecret(secret: ObservedSecret): Promise<void> {
    const meta = secret.metadata;
    if (!meta.finalizers?.includes(IN_USE_FINALIZER)) return;
    const stillUsed = this.#o.allProviders().some((p) => {
      const ref = credentialRefOf(p);
      return !!ref && ref.namespace === meta.namespace && ref.name === meta.name && this.needed(p);
    });
    if (stillUsed) return;
    await this.#o.secrets.patchMetadata(
      meta.namespace!,
      meta.name,
      { finalizers: meta.finalizers.filter((f) => f !== IN_USE_FINALIZER) },
      { resourceVersion: meta.resourceVersion! },
    );
    this.#o.logger.info({ namespace: meta.namespace, secret: meta.name }, 'credential Secret no longer in use');
  }
}
