// The one place (with the other src/kube files) that speaks @kubernetes/client-node. Controllers and the plugin use
// the typed access per resource built on it (tokens.ts, providers.ts, secrets.ts, ...) and get plain JSON objects;
// the generated typed clients are avoided for two reasons:
//   - they deserialize into model classes (Dates instead of RFC 3339 strings, unknown fields dropped on CRDs), so what
//     the controller compares would differ from what the API server stores;
//   - client-node builds a new undici Agent for every request, i.e. a new TLS connection per call. Here the first
//     dispatcher built for a KubeConfig is kept and reused, so calls share keep-alive connections.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  type KubeConfig as KubeConfigType,
  RequestContext,
} from '@kubernetes/client-node';
import { type Dispatcher, fetch } from 'undici';

export type { KubeConfig } from '@kubernetes/client-node';
export { ApiException } from '@kubernetes/client-node';

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

// ---------------------------------------------------------------------------------------------------------------
// Raw requests

const dispatchers = new WeakMap<KubeConfigType, Dispatcher | null>();

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API path, e.g. /api/v1/namespaces/default/secrets/x */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Gives up after this long (default 30 s): a stuck connection must not hold a worker forever. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * undici 8 negotiates HTTP/2 with the API server by default and multiplexes every request on one connection; under
 * load we saw requests on it stall for over a minute. HTTP/1.1 keep-alive connections (a small pool, as the
 * controller's concurrency is bounded) are the conservative choice for a control loop.
 */
function http1Only(dispatcher: Dispatcher): Dispatcher {
  return dispatcher.compose(
    (dispatch) => (opts, handler) => dispatch({ ...opts, allowH2: false } as typeof opts, handler),
  );
}

/** One JSON request with the KubeConfig's credentials; non-2xx throws client-node's ApiException (code, body). */
export async function kubeRequest<T = unknown>(kc: KubeConfig, req: KubeRequest): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  // Auth is applied per request (exec plugins and projected SA tokens rotate); the dispatcher is reused.
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  let dispatcher = dispatchers.get(kc);
  if (dispatcher === undefined) {
    const base = ctx.getDispatcher();
    dispatcher = base ? http1Only(base) : null;
    dispatchers.set(kc, dispatcher);
  }
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
  let body: string | undefined;
  if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers['content-type'] = req.contentType ?? 'application/json';
  }
  const res = await fetch(url, {
    method: req.method,
    headers,
    body,
    signal: AbortSignal.any([
      AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      ...(req.signal ? [req.signal] : []),
    ]),
    ...(dispatcher ? { dispatcher } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Non-JSON error bodies (proxies, 503 pages) are passed through as text.
  }
  if (res.status < 200 || res.status > 299) {
    const message = (parsed as { message?: string } | undefined)?.message ?? res.statusText;
    throw new ApiException(res.status, `${req.method} ${req.path}: ${res.status} ${message}`, parsed, {
      ...Object.fromEntries(res.headers),
    });
  }
  return parsed as T;
}

/** Every item of a collection, read in pages of 500 (a list of 100,000 objects never arrives as one response). */
export async function listAll<T>(
  kc: KubeConfig,
  path: string,
  options: { labelSelector?: string | undefined; fieldSelector?: string | undefined; timeoutMs?: number } = {},
): Promise<T[]> {
  const { timeoutMs, ...selectors } = options;
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await kubeRequest<{ items: T[]; metadata?: { continue?: string } }>(kc, {
      method: 'GET',
      path,
      query: {
        limit: 500,
        continue: cont,
        labelSelector: selectors.labelSelector || undefined,
        fieldSelector: selectors.fieldSelector || undefined,
      },
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    items.push(...page.items);
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return items;
}

// ---------------------------------------------------------------------------------------------------------------
// Error predicates. They accept client-node's ApiException (from this module and from the generated clients) and the
// plain `{ statusCode }` errors client-node's Watch throws, and never throw themselves.

export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export function isConflict(err: unknown): boolean {
  return statusCodeOf(err) === 409;
}

export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

/** 410 Gone: a list or watch asked for a resourceVersion that etcd has compacted away. */
export function isGone(err: unknown): boolean {
  return statusCodeOf(err) === 410;
}
