// The plugin's few Kubernetes calls, over src/kube/client.ts (the project's one client-node entry point).
import type { ClusterCredentialsProvider, CredentialsProvider, ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import { API_VERSION } from '../../api/v1alpha1/index.ts';
import { isNotFound, type KubeConfig, kubeRequest, loadKubeConfig } from '../../kube/client.ts';

export interface Target {
  kc: KubeConfig;
  /** undefined = all namespaces. */
  namespace: string | undefined;
  /** Per request; shell completion gives up quickly rather than hang the prompt. Default: kubeRequest's 30 s. */
  timeoutMs?: number;
}

export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
}

/** -n, else the kubeconfig context's namespace, else default (as kubectl does); -A for all namespaces. */
export function resolveTarget(flags: GlobalFlags, timeoutMs?: number): Target {
  const kc = loadKubeConfig({
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
  });
  const timeout = timeoutMs ? { timeoutMs } : {};
  if (flags.allNamespaces) return { kc, namespace: undefined, ...timeout };
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return { kc, namespace: flags.namespace ?? contextNamespace ?? 'default', ...timeout };
}

const base = `/apis/${API_VERSION}`;
const collection = (plural: string, namespace: string | undefined) =>
  namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${base}/${plural}`;

interface List<T> {
  items: T[];
  metadata?: { continue?: string };
}

async function listAll<T>(
  kc: KubeConfig,
  path: string,
  options: { labelSelector?: string | undefined; timeoutMs?: number | undefined } = {},
): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await kubeRequest<List<T>>(kc, {
      method: 'GET',
      path,
      query: { limit: 500, continue: cont, labelSelector: options.labelSelector || undefined },
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    items.push(...page.items);
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return items;
}

/** ServiceAccountTokens in the target's namespace (or all), optionally filtered server-side by a label selector. */
export const listTokens = (t: Target, labelSelector?: string) =>
  listAll<ServiceAccountToken>(t.kc, collection('serviceaccounttokens', t.namespace), {
    labelSelector,
    timeoutMs: t.timeoutMs,
  });
export const listProviders = (t: Target) =>
  listAll<CredentialsProvider>(t.kc, collection('credentialsproviders', t.namespace), { timeoutMs: t.timeoutMs });
export const listClusterProviders = (t: Target) =>
  listAll<ClusterCredentialsProvider>(t.kc, `${base}/clustercredentialsproviders`, { timeoutMs: t.timeoutMs });

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

export async function listNamespaceNames(t: Target): Promise<string[]> {
  const namespaces = await listAll<{ metadata: { name: string } }>(t.kc, '/api/v1/namespaces', {
    timeoutMs: t.timeoutMs,
  });
  return namespaces.map((n) => n.metadata.name);
}

/** The contexts of the kubeconfig (no API call). */
export const contextNames = (kc: KubeConfig): string[] => kc.getContexts().map((c) => c.name);

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
