// Namespace labels, for ClusterCredentialsProvider namespace selectors.
import { type Clock, realClock } from '../clock.ts';
import { isNotFound, type KubeConfig, kubeRequest, listAll } from './client.ts';
import { paths } from './paths.ts';

/** Namespace labels change rarely; selector checks read them through this short cache. */
const TTL_MS = 30_000;

export class NamespaceApi {
  readonly #kc: KubeConfig;
  readonly #clock: Clock;
  readonly #cache = new Map<string, { labels: Record<string, string> | undefined; at: number }>();

  constructor(kc: KubeConfig, clock: Clock = realClock) {
    this.#kc = kc;
    this.#clock = clock;
  }

  /** Names of every namespace (shell completion). */
  async names(options: { timeoutMs?: number } = {}): Promise<string[]> {
    const list = await listAll<{ metadata: { name: string } }>(this.#kc, paths.namespaces(), options);
    return list.map((n) => n.metadata.name);
  }

  /** The namespace's labels, or undefined when it does not exist. */
  async labels(name: string): Promise<Record<string, string> | undefined> {
    const now = this.#clock.now();
    const cached = this.#cache.get(name);
    if (cached && now - cached.at < TTL_MS) return cached.labels;
    let labels: Record<string, string> | undefined;
    try {
      const ns = await kubeRequest<{ metadata: { labels?: Record<string, string> } }>(this.#kc, {
        method: 'GET',
        path: paths.namespace(name),
      });
      labels = ns.metadata.labels ?? {};
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.#cache.set(name, { labels, at: now });
    return labels;
  }
}
