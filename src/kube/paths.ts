// REST paths of the kinds tokensync touches. The kinds are known, so paths are built directly: no discovery round
// trips, and one place to read when a path is wrong.
import { GROUP, VERSION } from '../api/v1alpha1/common.ts';

const enc = encodeURIComponent;
const ours = `/apis/${GROUP}/${VERSION}`;
const scoped = (base: string, namespace: string | undefined) =>
  namespace ? `${base}/namespaces/${enc(namespace)}` : base;

export const paths = {
  /** ServiceAccountTokens of one namespace, or of all when namespace is undefined. */
  tokens: (namespace?: string) => `${scoped(ours, namespace)}/serviceaccounttokens`,
  token: (namespace: string, name: string) => `${scoped(ours, namespace)}/serviceaccounttokens/${enc(name)}`,
  providers: (namespace?: string) => `${scoped(ours, namespace)}/credentialsproviders`,
  provider: (namespace: string, name: string) => `${scoped(ours, namespace)}/credentialsproviders/${enc(name)}`,
  clusterProviders: () => `${ours}/clustercredentialsproviders`,
  clusterProvider: (name: string) => `${ours}/clustercredentialsproviders/${enc(name)}`,
  secrets: (namespace?: string) => `${scoped('/api/v1', namespace)}/secrets`,
  secret: (namespace: string, name: string) => `${scoped('/api/v1', namespace)}/secrets/${enc(name)}`,
  namespaces: () => '/api/v1/namespaces',
  namespace: (name: string) => `/api/v1/namespaces/${enc(name)}`,
  /** A namespaced collection of workloads (apps/v1 deployments, argoproj.io/v1alpha1 rollouts, ...). */
  workloads: (group: string, version: string, namespace: string, resource: string) =>
    `/apis/${group}/${version}/namespaces/${enc(namespace)}/${resource}`,
  lease: (namespace: string, name: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases/${enc(name)}`,
  leases: (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases`,
  events: (namespace: string) => `/apis/events.k8s.io/v1/namespaces/${enc(namespace)}/events`,
} as const;

/** The field manager every tokensync write names, so `kubectl get -o yaml --show-managed-fields` shows who wrote what. */
export const FIELD_MANAGER = 'tokensync';
export const MERGE_PATCH = 'application/merge-patch+json';
