// Typed access to CredentialsProviders and ClusterCredentialsProviders, shared by the controller and the plugin.
import type { AnyProvider, ClusterCredentialsProvider, CredentialsProvider } from '../api/v1alpha1/index.ts';
import { type KubeConfig, kubeRequest, listAll } from './client.ts';
import { FIELD_MANAGER, MERGE_PATCH, paths } from './paths.ts';
import type { WriteOptions } from './tokens.ts';

const pathOf = (p: AnyProvider) =>
  p.kind === 'ClusterCredentialsProvider'
    ? paths.clusterProvider(p.metadata.name)
    : paths.provider(p.metadata.namespace!, p.metadata.name);

export class ProviderApi {
  readonly #kc: KubeConfig;
  readonly #timeout: { timeoutMs?: number };

  constructor(kc: KubeConfig, options: { timeoutMs?: number } = {}) {
    this.#kc = kc;
    this.#timeout = options.timeoutMs ? { timeoutMs: options.timeoutMs } : {};
  }

  list(namespace: string | undefined): Promise<CredentialsProvider[]> {
    return listAll<CredentialsProvider>(this.#kc, paths.providers(namespace), this.#timeout);
  }

  listCluster(): Promise<ClusterCredentialsProvider[]> {
    return listAll<ClusterCredentialsProvider>(this.#kc, paths.clusterProviders(), this.#timeout);
  }

  async patchStatus(provider: AnyProvider, status: Record<string, unknown>): Promise<void> {
    await kubeRequest(this.#kc, {
      method: 'PATCH',
      path: `${pathOf(provider)}/status`,
      query: { fieldManager: FIELD_MANAGER },
      body: { status },
      contentType: MERGE_PATCH,
    });
  }

  /** Replaces the finalizer list, conditional on the version the caller decided on (others' finalizers survive). */
  async setFinalizers(provider: AnyProvider, finalizers: string[], options: WriteOptions = {}): Promise<void> {
    await kubeRequest(this.#kc, {
      method: 'PATCH',
      path: pathOf(provider),
      query: { fieldManager: FIELD_MANAGER },
      body: {
        metadata: {
          finalizers: finalizers.length ? finalizers : null,
          ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}),
        },
      },
      contentType: MERGE_PATCH,
    });
  }
}
