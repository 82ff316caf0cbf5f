import { type AnyProvider, GROUP, type ServiceAccountToken, VERSION } from '../api/v1alpha1/index.ts';
import { isNotFound, type KubeConfig, kubeRequest } from '../kube/client.ts';
import { SecretValue } from '../providers/secret-value.ts';
import type { FreshnessTracker } from './freshness.ts';
import { type ObservedSecret, observeSecret } from './observed-secret.ts';
import type { KubePort, SecretManifest } from './ports.ts';

const FIELD_MANAGER = 'tokensync';
const MERGE = 'application/merge-patch+json';
const APPLY = 'application/apply-patch+yaml';

const satPath = (namespace: string, name: string) =>
  `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/serviceaccounttokens/${encodeURIComponent(name)}`;
const secretPath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
const WORKLOAD_RESOURCES: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

/**
 * KubePort on the real API server. Paths are built directly (the kinds are known), so no discovery round trips;
 * every write names the `tokensync` field manager. Responses are trimmed like informer objects: managedFields
 * dropped, Secret data reduced to a keyed hash before it leaves this module.
 */
export class KubeAdapter implements KubePort {
  readonly #kc: KubeConfig;
  /** Namespace labels change rarely; ClusterCredentialsProvider checks read them through this short cache. */
  readonly #namespaces = new Map<string, { labels: Record<string, string> | undefined; at: number }>();

  readonly #freshness: FreshnessTracker | undefined;

  constructor(kc: KubeConfig, freshness?: FreshnessTracker) {
    this.#kc = kc;
    this.#freshness = freshness;
  }

  #wrote(before: ServiceAccountToken, after: ServiceAccountToken): void {
    this.#freshness?.wrote(
      `${before.metadata.namespace}/${before.metadata.name}`,
      before.metadata.resourceVersion,
      after.metadata.resourceVersion,
    );
  }

  async patchTokenStatus(
    sat: ServiceAccountToken,
    status: Record<string, unknown>,
    options: { resourceVersion?: string } = {},
  ): Promise<ServiceAccountToken> {
    const body: Record<string, unknown> = { status };
    if (options.resourceVersion) body['metadata'] = { resourceVersion: options.resourceVersion };
    const updated = await kubeRequest<ServiceAccountToken & { metadata: { managedFields?: unknown } }>(this.#kc, {
      method: 'PATCH',
      path: `${satPath(sat.metadata.namespace!, sat.metadata.name)}/status`,
      query: { fieldManager: FIELD_MANAGER },
      body,
      contentType: MERGE,
    });
    this.#wrote(sat, updated);
    return trim(updated);
  }

  async setFinalizers(sat: ServiceAccountToken, finalizers: string[]): Promise<ServiceAccountToken> {
    const updated = await kubeRequest<ServiceAccountToken>(this.#kc, {
      method: 'PATCH',
      path: satPath(sat.metadata.namespace!, sat.metadata.name),
      query: { fieldManager: FIELD_MANAGER },
      // resourceVersion makes this a compare-and-swap: finalizers of other controllers are never lost.
      body: {
        metadata: { finalizers: finalizers.length ? finalizers : null, resourceVersion: sat.metadata.resourceVersion },
      },
      contentType: MERGE,
    });
    this.#wrote(sat, updated);
    return trim(updated);
  }

  async getSecret(namespace: string, name: string): Promise<ObservedSecret | undefined> {
    try {
      return observeSecret(await kubeRequest(this.#kc, { method: 'GET', path: secretPath(namespace, name) }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async applySecret(secret: SecretManifest): Promise<ObservedSecret> {
    // Server-side apply, forced: the Secret was checked to be ours; force takes fields back from an editor.
    const applied = await kubeRequest(this.#kc, {
      method: 'PATCH',
      path: secretPath(secret.metadata.namespace, secret.metadata.name),
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: secret,
      contentType: APPLY,
    });
    return observeSecret(applied as Parameters<typeof observeSecret>[0]);
  }

  async patchSecretMetadata(
    namespace: string,
    name: string,
    metadata: {
      labels?: Record<string, string | null>;
      annotations?: Record<string, string | null>;
      ownerReferences?: null;
    },
  ): Promise<void> {
    await kubeRequest(this.#kc, {
      method: 'PATCH',
      path: secretPath(namespace, name),
      query: { fieldManager: FIELD_MANAGER },
      body: { metadata },
      contentType: MERGE,
    });
  }

  async deleteSecret(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await kubeRequest(this.#kc, {
        method: 'DELETE',
        path: secretPath(namespace, name),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async readSecretKey(namespace: string, name: string, key: string): Promise<SecretValue | undefined> {
    try {
      const secret = await kubeRequest<{ data?: Record<string, string> }>(this.#kc, {
        method: 'GET',
        path: secretPath(namespace, name),
      });
      const encoded = secret.data?.[key];
      return encoded === undefined
        ? undefined
        : new SecretValue(Buffer.from(encoded, 'base64').toString('utf8').trim());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    const cached = this.#namespaces.get(name);
    if (cached && Date.now() - cached.at < 30_000) return cached.labels;
    let labels: Record<string, string> | undefined;
    try {
      const ns = await kubeRequest<{ metadata: { labels?: Record<string, string> } }>(this.#kc, {
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(name)}`,
      });
      labels = ns.metadata.labels ?? {};
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.#namespaces.set(name, { labels, at: Date.now() });
    return labels;
  }

  async restartWorkload(namespace: string, kind: string, name: string, at: string): Promise<'restarted' | 'not-found'> {
    const resource = WORKLOAD_RESOURCES[kind];
    if (!resource) throw new Error(`cannot restart kind ${kind}`);
    try {
      await kubeRequest(this.#kc, {
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`,
        query: { fieldManager: FIELD_MANAGER },
        // The same change `kubectl rollout restart` makes: a pod-template annotation, so pods roll gradually.
        body: { spec: { template: { metadata: { annotations: { 'tokensync.io/restartedAt': at } } } } },
        contentType: MERGE,
      });
      return 'restarted';
    } catch (error) {
      if (isNotFound(error)) return 'not-found';
      throw error;
    }
  }

  async patchProviderStatus(provider: AnyProvider, status: Record<string, unknown>): Promise<void> {
    const plural =
      provider.kind === 'ClusterCredentialsProvider' ? 'clustercredentialsproviders' : 'credentialsproviders';
    const scope = provider.metadata.namespace ? `/namespaces/${encodeURIComponent(provider.metadata.namespace)}` : '';
    await kubeRequest(this.#kc, {
      method: 'PATCH',
      path: `/apis/${GROUP}/${VERSION}${scope}/${plural}/${encodeURIComponent(provider.metadata.name)}/status`,
      query: { fieldManager: FIELD_MANAGER },
      body: { status },
      contentType: MERGE,
    });
  }
}

function trim<T extends { metadata: object }>(obj: T): T {
  const { managedFields: _dropped, ...metadata } = obj.metadata as { managedFields?: unknown };
  return { ...obj, metadata } as T;
}
