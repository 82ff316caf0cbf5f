// Where a plugin command points: the kubeconfig, context and namespace the user chose, as kubectl resolves them, and
// the project's typed Kubernetes access (src/kube/, the same the controller uses) bound to that identity.
import { type KubeConfig, loadKubeConfig } from '../../kube/kubeconfig.ts';
import { NamespaceApi } from '../../kube/namespaces.ts';
import { ProviderApi } from '../../kube/providers.ts';
import { SecretApi } from '../../kube/secrets.ts';
import { TokenApi } from '../../kube/tokens.ts';

export interface Target {
  kc: KubeConfig;
  /** undefined = all namespaces. */
  namespace: string | undefined;
  tokens: TokenApi;
  providers: ProviderApi;
  namespaces: NamespaceApi;
  /** Only reads (credentials for revoke-orphans): no hash key, so no data hashes. */
  secrets: SecretApi;
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
  const apis = {
    kc,
    tokens: new TokenApi(kc, timeout),
    providers: new ProviderApi(kc, timeout),
    namespaces: new NamespaceApi(kc),
    secrets: new SecretApi(kc),
    ...timeout,
  };
  if (flags.allNamespaces) return { ...apis, namespace: undefined };
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return { ...apis, namespace: flags.namespace ?? contextNamespace ?? 'default' };
}

/** The contexts of the kubeconfig (no API call). */
export const contextNames = (kc: KubeConfig): string[] => kc.getContexts().map((c) => c.name);
