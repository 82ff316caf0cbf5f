// The plugin's few Kubernetes calls, over src/kube/client.ts (the project's one client-node entry point).
import type { ClusterCredentialsProvider, CredentialsProvider, ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import { API_VERSION } from '../../api/v1alpha1/index.ts';
import { isNotFound, type KubeConfig, kubeRequest, loadKubeConfig } from '../../kube/client.ts';

export interface Target {
  kc: KubeConfig;
  /** undefined = all namespaces. */
  namespace: string | undefined;
}

export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

/** -n, else the kubeconfig context's namespace, else default (as kubectl does); -A for all namespaces. */
export function resolveTarget(flags: GlobalFlags): Target {
  const kc = loadKubeConfig({
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
  });
  if (flags.allNamespaces) return { kc, namespace: undefined };
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return { kc, namespace: flags.namespace ?? contextNamespace ?? 'default' };
}

const base = `/apis/${API_VERSION}`;
const collection = (plural: string, namespace: string | undefined) =>
  namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;

interface List<T> {
  items: T[];
  metadata?: { continue?: string };
}

async function listAll<T>(kc: KubeConfig, path: string): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await kubeRequest<List<T>>(kc, { method: 'GET', path, query: { limit: 500, continue: cont } });
    items.push(...page.items);
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return items;
}

export const listTokens = (t: Target) =>
  listAll<ServiceAccountToken>(t.kc, collection('serviceaccounttokens', t.namespace));
export const listProviders = (t: Target) =>
  listAll<CredentialsProvider>(t.kc, collection('credentialsproviders', t.namespace));
export const listClusterProviders = (kc: KubeConfig) =>
  listAll<ClusterCredentialsProvider>(kc, `${base}/clustercredentialsproviders`);

export function getToken(kc: KubeConfig, namespace: string, name: string): Promise<ServiceAccountToken> {
  return kubeRequest<ServiceAccountToken>(kc, {
    method: 'GET',
    path: `${collection('serviceaccounttokens', namespace)}/${encodeURIComponent(name)}`,
  });
}

export function annotateToken(
  kc: KubeConfig,
  namespace: string,
  name: string,
  annotations: Record<string, string>,
): Promise<ServiceAccountToken> {
  return kubeRequest<ServiceAccountToken>(kc, {
    method: 'PATCH',
    path: `${collection('serviceaccounttokens', namespace)}/${encodeURIComponent(name)}`,
    body: { metadata: { annotations } },
    contentType: 'application/merge-patch+json',
  });
}

/** One key of a Secret, decoded; undefined when the Secret or key is missing. */
export async function readSecretKey(
  kc: KubeConfig,
  namespace: string,
  name: string,
  key: string,
): Promise<string | undefined> {
  try {
    const secret = await kubeRequest<{ data?: Record<string, string> }>(kc, {
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
    });
    const value = secret.data?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
