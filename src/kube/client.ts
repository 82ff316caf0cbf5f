// How the controller reaches the API server: raw JSON requests and watches over undici, on keep-alive connections.
// Controllers and the plugin use the typed access per resource built on it (tokens.ts, providers.ts, secrets.ts, ...)
// and get plain JSON objects; client-node's generated typed clients are avoided because they deserialize into model
// classes (Dates instead of RFC 3339 strings, unknown fields dropped on CRDs), so what the controller compares would
// differ from what the API server stores.
//
// This module does not import @kubernetes/client-node at run time: its KubeConfig loads the package's whole generated
// API (about 80 MiB of RSS). In a pod, and with a kubeconfig file that holds only a server, a CA and a token or client
// certificate, the controller builds its ClusterAccess here; anything else (exec plugins, OIDC, contexts, proxies,
// several merged files) is handed to client-node, imported then (kubeconfig.ts; docs/decisions/0016-lazy-client-node.md).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { KubeConfig as ClientNodeKubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher, request } from 'undici';
import { parse as parseYaml } from 'yaml';

/** How to reach one API server: what every request in src/kube needs, whichever loader produced it. */
export interface ClusterAccess {
  /** e.g. https://10.0.0.1:443, no trailing slash. */
  readonly server: string;
  /** The kubeconfig context's namespace, or the pod's (in-cluster). */
  readonly namespace?: string | undefined;
  /** Where it came from, so client-node can load the same (leader election still speaks client-node). */
  readonly source?: { kubeconfig?: string; context?: string };
  /**
   * Per request: the authentication headers (evaluated each time: mounted tokens rotate) and the dispatcher that
   * carries the TLS settings (the same one every time, so requests share keep-alive connections).
   */
  prepare(): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher }>;
}

/**
 * What src/kube takes: our own ClusterAccess, or a client-node KubeConfig (the plugin's contexts, tests), which is
 * adapted on first use (kubeconfig.ts clientNodeAccess).
 */
export type KubeConfig = ClusterAccess | ClientNodeKubeConfig;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token read from a file is used before it is read again: client-go's and client-node's minute. */
const TOKEN_FILE_TTL_MS = 60_000;

/** An error status from the API server: `code` and the Status `body`, as client-node's ApiException carries them. */
export class ApiException<T = unknown> extends Error {
  readonly code: number;
  readonly body: T;
  readonly headers: Record<string, string>;

  constructor(code: number, message: string, body: T, headers: Record<string, string>) {
    super(message);
    this.name = 'ApiException';
    this.code = code;
    this.body = body;
    this.headers = headers;
  }
}

/**
 * The controller's connection: explicit path, else $KUBECONFIG, else in-cluster (service account), else
 * ~/.kube/config — the order of kubeconfig.ts loadKubeConfig. In a pod this reads the mounted token (again every
 * minute: it rotates), ca.crt and KUBERNETES_SERVICE_HOST/PORT, as client-go's rest.InClusterConfig does. A kubeconfig
 * file is read here when it holds only static credentials; otherwise client-node loads it.
 */
export async function loadClusterAccess(options: { kubeconfig?: string; context?: string } = {}): Promise<KubeConfig> {
  const fromEnv = process.env['KUBECONFIG'];
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const inCluster = host && existsSync(join(SA_DIR, 'token'));
  const home = join(homedir(), '.kube', 'config');
  let file: string | undefined;
  if (options.kubeconfig) file = options.kubeconfig;
  else if (fromEnv)
    file = fromEnv.includes(':') ? undefined : fromEnv; // several files: client-node merges them
  else if (inCluster) return inClusterAccess(host, process.env['KUBERNETES_SERVICE_PORT'] ?? '443');
  else if (existsSync(home)) file = home;
  if (file) {
    const access = await staticKubeconfigAccess(file, options.context);
    if (access) return access;
  }
  const { loadKubeConfig } = await import('./kubeconfig.ts');
  return loadKubeConfig(options);
}

function isClusterAccess(kc: KubeConfig): kc is ClusterAccess {
  return typeof (kc as Partial<ClusterAccess>).prepare === 'function';
}

/** A token read from a file, read again once it is a minute old (projected tokens are rotated by the kubelet). */
function tokenFile(path: string): () => Promise<string> {
  let token: string | undefined;
  let readAt = 0;
  return async () => {
    if (token === undefined || Date.now() - readAt >= TOKEN_FILE_TTL_MS) {
      token = (await readFile(path, 'utf8')).trim();
      readAt = Date.now();
    }
    return token;
  };
}

function agent(tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; insecure?: boolean }) {
  return new Agent({
    // HTTP/1.1 keep-alive connections: on one multiplexed HTTP/2 connection we saw requests stall for over a minute
    // under load.
    allowH2: false,
    // Watches are quiet for minutes between bookmarks; the informer's own stall detector decides when one is dead.
    bodyTimeout: 0,
    connect: {
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
      rejectUnauthorized: !tls.insecure,
    },
  });
}

async function inClusterAccess(host: string, port: string): Promise<ClusterAccess> {
  const ca = await readFile(join(SA_DIR, 'ca.crt'));
  const namespace = existsSync(join(SA_DIR, 'namespace'))
    ? (await readFile(join(SA_DIR, 'namespace'), 'utf8')).trim()
    : undefined;
  const token = tokenFile(join(SA_DIR, 'token'));
  const dispatcher = agent({ ca });
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace,
    source: {},
    async prepare() {
      return { headers: { authorization: `Bearer ${await token()}` }, dispatcher };
    },
  };
}

type Named<T> = Array<{ name?: string } & Record<string, T | undefined>>;
const CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'extensions',
]);
const USER_FIELDS = new Set([
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'extensions',
]);

/**
 * A kubeconfig file whose current (or chosen) context names a cluster with only a server and a CA, and a user with
 * only a token, a token file or a client certificate: read here. Anything else, or anything unexpected, returns
 * undefined and client-node reads the file instead, so no kubeconfig feature is lost.
 */
async function staticKubeconfigAccess(file: string, context?: string): Promise<ClusterAccess | undefined> {
  let doc: {
    clusters?: Named<Record<string, unknown>>;
    users?: Named<Record<string, unknown>>;
    contexts?: Named<{ cluster?: string; user?: string; namespace?: string }>;
    'current-context'?: string;
  };
  try {
    doc = parseYaml(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const contextName = context ?? doc?.['current-context'];
  const ctx = doc?.contexts?.find((c) => c.name === contextName)?.['context'];
  const cluster = doc?.clusters?.find((c) => c.name === ctx?.cluster)?.['cluster'];
  const user = doc?.users?.find((u) => u.name === ctx?.user)?.['user'] ?? (ctx?.user === undefined ? {} : undefined);
  if (!ctx || !cluster || !user || typeof cluster['server'] !== 'string') return undefined;
  if (Object.keys(cluster).some((k) => !CLUSTER_FIELDS.has(k))) return undefined;
  if (Object.keys(user).some((k) => !USER_FIELDS.has(k))) return undefined;
  const base = dirname(resolve(file));
  const bytes = async (data: unknown, path: unknown): Promise<Buffer | undefined> => {
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    if (typeof path === 'string') return readFile(resolve(base, path));
    return undefined;
  };
  const ca = await bytes(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = await bytes(user['client-certificate-data'], user['client-certificate']);
  const key = await bytes(user['client-key-data'], user['client-key']);
  const dispatcher = agent({
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    insecure: cluster['insecure-skip-tls-verify'] === true,
  });
  const staticToken = typeof user['token'] === 'string' ? user['token'] : undefined;
  const fileToken = typeof user['tokenFile'] === 'string' ? tokenFile(resolve(base, user['tokenFile'])) : undefined;
  return {
    server: cluster['server'].replace(/\/$/, ''),
    namespace: ctx.namespace,
    source: { kubeconfig: file, ...(context ? { context } : {}) },
    async prepare() {
      const token = staticToken ?? (await fileToken?.());
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      return { headers, dispatcher };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw requests

const adapted = new WeakMap<ClientNodeKubeConfig, Promise<ClusterAccess>>();

/** The ClusterAccess of any KubeConfig; a client-node one is adapted once (client-node is loaded already then). */
export function accessOf(kc: KubeConfig): Promise<ClusterAccess> | ClusterAccess {
  if (isClusterAccess(kc)) return kc;
  let access = adapted.get(kc);
  if (!access) {
    access = import('./kubeconfig.ts').then((m) => m.clientNodeAccess(kc));
    adapted.set(kc, access);
  }
  return access;
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API path, e.g. /api/v1/namespaces/default/secrets/x */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Accept header; default application/json. */
  accept?: string;
  signal?: AbortSignal;
  /** Gives up after this long (default 30 s): a stuck connection must not hold a worker forever. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

async function send(kc: KubeConfig, req: KubeRequest, signal: AbortSignal) {
  const access = await accessOf(kc);
  const url = new URL(access.server + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const { headers: auth, dispatcher } = await access.prepare();
  const headers: Record<string, string> = { ...auth, accept: req.accept ?? 'application/json' };
  let body: string | undefined;
  if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers['content-type'] = req.contentType ?? 'application/json';
  }
  // undici's request, not fetch: fetch wraps every response in WHATWG Request/Response/Headers objects and streams,
  // garbage that made up much of the heap churn of a burst of reconciles.
  return request(url, { method: req.method, headers, body, signal, ...(dispatcher ? { dispatcher } : {}) });
}

type Response = Awaited<ReturnType<typeof send>>;

function headersOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function apiError(req: KubeRequest, res: Response, text: string) {
  const status = res.statusCode;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Non-JSON error bodies (proxies, 503 pages) are passed through as text.
  }
  const message = (parsed as { message?: string } | undefined)?.message ?? STATUS_CODES[status] ?? '';
  return new ApiException(status, `${req.method} ${req.path}: ${status} ${message}`, parsed, headersOf(res));
}

/** One JSON request with the KubeConfig's credentials; non-2xx throws an ApiException (code, Status body). */
export async function kubeRequest<T = unknown>(kc: KubeConfig, req: KubeRequest): Promise<T> {
  // One timer, cleared as soon as the response is read, rather than AbortSignal.timeout + AbortSignal.any: those live
  // on for the whole timeout after the request is done, thousands of them during a burst of reconciles.
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`${req.method} ${req.path}: no answer in ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  const outer = req.signal;
  const forward = () => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  let res: Response;
  let text: string;
  try {
    res = await send(kc, req, controller.signal);
    text = await res.body.text();
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', forward);
  }
  if (res.statusCode < 200 || res.statusCode > 299) throw apiError(req, res, text);
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // A 2xx that is not JSON is returned as text.
  }
  return parsed as T;
}

/**
 * A watch: calls `onEvent` for every line of the stream (type + object) until the server ends it (`timeoutSeconds`),
 * the signal aborts it, or it fails. Resolves on the end and on abort, rejects on a failure (a non-2xx at the start
 * rejects with an ApiException). No timeout of its own: the caller's stall detector decides when a watch is dead.
 */
export async function kubeWatch(
  kc: KubeConfig,
  req: Pick<KubeRequest, 'path' | 'query' | 'accept'> & { signal: AbortSignal },
  onEvent: (type: string, object: Record<string, unknown>) => void,
): Promise<void> {
  const watchRequest: KubeRequest = { method: 'GET', ...req, query: { ...req.query, watch: true } };
  try {
    const res = await send(kc, watchRequest, req.signal);
    if (res.statusCode < 200 || res.statusCode > 299) throw apiError(watchRequest, res, await res.body.text());
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { type: string; object: Record<string, unknown> };
        onEvent(event.type, event.object);
      }
    }
  } catch (err) {
    if (req.signal.aborted) return;
    throw err;
  }
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
