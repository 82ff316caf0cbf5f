// Everything that needs @kubernetes/client-node's KubeConfig: kubeconfig files with contexts, exec plugins, OIDC and
// cloud auth providers, proxies, several files merged from $KUBECONFIG. The package's KubeConfig reaches its whole
// generated API (about 80 MiB of RSS once imported), so the controller loads this module only when its kubeconfig
// needs it (client.ts loadClusterAccess; docs/decisions/0016-lazy-client-node.md). The kubectl plugin and tests use
// it directly.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import type { ClusterAccess } from './client.ts';

export { KubeConfig } from '@kubernetes/client-node';

/**
 * A KubeConfig whose connections speak HTTP/1.1 only. undici 8 offers HTTP/2 by ALPN and the API server accepts it;
 * on one multiplexed connection we saw requests stall for over a minute under load. This covers every connection
 * client-node opens for us (watches, leases), through its public createDispatcherOptions hook.
 */
class Http1KubeConfig extends KubeConfig {
  override createDispatcherOptions(...args: Parameters<KubeConfig['createDispatcherOptions']>) {
    const options = super.createDispatcherOptions(...args);
    if (options.type === 'agent' || options.type === 'proxy') {
      // allowH2 is an undici connector option that ends up in the same object; node's ConnectOptions type lacks it.
      const connect = { ...options.connect, allowH2: false } as unknown as typeof options.connect;
      return { ...options, connect };
    }
    return options;
  }
}

/**
 * Explicit path, else $KUBECONFIG, else in-cluster (service account), else ~/.kube/config. In-cluster comes before
 * ~/.kube/config (unlike client-node's loadFromDefault) so a pod never picks up a stray config baked into its image.
 */
export function loadKubeConfig(options: { kubeconfig?: string; context?: string } = {}): KubeConfig {
  const kc = new Http1KubeConfig();
  const fromEnv = process.env['KUBECONFIG'];
  const inCluster =
    process.env['KUBERNETES_SERVICE_HOST'] && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  const home = join(homedir(), '.kube', 'config');
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else if (fromEnv) {
    // KUBECONFIG may list several files; client-node merges them like kubectl does.
    kc.loadFromDefault();
  } else if (inCluster) kc.loadFromCluster();
  else if (existsSync(home)) kc.loadFromFile(home);
  else throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, run in a cluster, or create ~/.kube/config');
  if (options.context) kc.setCurrentContext(options.context);
  return kc;
}

/** HTTP/1.1 on a dispatcher built by a KubeConfig that is not an Http1KubeConfig (tests build their own). */
function http1Only(dispatcher: Dispatcher): Dispatcher {
  return dispatcher.compose(
    (dispatch) => (opts, handler) => dispatch({ ...opts, allowH2: false } as typeof opts, handler),
  );
}

/**
 * A client-node KubeConfig as the ClusterAccess kubeRequest speaks: auth is applied per request (exec plugins and
 * projected tokens rotate); the first dispatcher client-node builds is kept, so calls share keep-alive connections
 * (client-node itself builds a new undici Agent, i.e. a new TLS connection, for every request).
 */
export function clientNodeAccess(kc: KubeConfig): ClusterAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/$/, '');
  let dispatcher: Dispatcher | null | undefined;
  return {
    server,
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    async prepare() {
      const ctx = new RequestContext(`${server}/`, HttpMethod.GET);
      await kc.applySecurityAuthentication(ctx);
      if (dispatcher === undefined) {
        const base = ctx.getDispatcher() as Dispatcher | undefined;
        dispatcher = base ? http1Only(base) : null;
      }
      return { headers: ctx.getHeaders(), ...(dispatcher ? { dispatcher } : {}) };
    },
  };
}
