import type { AnyProvider, ServiceAccountToken, ServiceAccountTokenStatus } from '../api/v1alpha1/index.ts';
import type { SecretValue } from '../providers/secret-value.ts';
import type { ObservedSecret } from './observed-secret.ts';

/**
 * What the reconcilers need from Kubernetes, in tokensync's own types. Implemented on the real API server by
 * kube-adapter.ts; the reconcilers never see client-node.
 */
export interface KubePort {
  /** Merge-patches status. With `resourceVersion`, a concurrent change fails with a conflict instead. */
  patchTokenStatus(
    sat: ServiceAccountToken,
    status: Partial<Record<keyof ServiceAccountTokenStatus, unknown>>,
    options?: { resourceVersion?: string },
  ): Promise<ServiceAccountToken>;
  setFinalizers(sat: ServiceAccountToken, finalizers: string[]): Promise<ServiceAccountToken>;
  /** Live read (not the cache): used to confirm before any decision that would mint. */
  getSecret(namespace: string, name: string): Promise<ObservedSecret | undefined>;
  applySecret(secret: SecretManifest): Promise<ObservedSecret>;
  patchSecretMetadata(
    namespace: string,
    name: string,
    metadata: {
      labels?: Record<string, string | null>;
      annotations?: Record<string, string | null>;
      ownerReferences?: null;
    },
  ): Promise<void>;
  deleteSecret(namespace: string, name: string, uid: string): Promise<void>;
  readSecretKey(namespace: string, name: string, key: string): Promise<SecretValue | undefined>;
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  restartWorkload(namespace: string, kind: string, name: string, at: string): Promise<'restarted' | 'not-found'>;
  patchProviderStatus(provider: AnyProvider, status: Record<string, unknown>): Promise<void>;
}

export interface SecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: true;
      blockOwnerDeletion: true;
    }>;
  };
  type: string;
  /** base64 values */
  data: Record<string, string>;
}

export interface EventSink {
  record(
    object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; uid?: string } },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void;
}
