// One cache over several informers: the same kind watched in a list of namespaces (namespaced RBAC mode, where the
// controller may not list across all namespaces). Keys are namespace/name, so the union needs no translation.
import type { Informer, InformerEvent, Meta } from './informer.ts';

/** What the controllers need of a cache, whether one informer or a set of them serves it. */
export interface Cache<T extends Meta> {
  get(key: string): T | undefined;
  list(): T[];
  size(): number;
  onEvent(handler: (event: InformerEvent<T>) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  hasSynced(): boolean;
}

export class InformerSet<T extends Meta> implements Cache<T> {
  readonly #informers: Informer<T>[];

  constructor(informers: Informer<T>[]) {
    if (!informers.length) throw new Error('an informer set needs at least one informer');
    this.#informers = informers;
  }

  get(key: string): T | undefined {
    for (const informer of this.#informers) {
      const found = informer.get(key);
      if (found) return found;
    }
    return undefined;
  }

  list(): T[] {
    return this.#informers.flatMap((i) => i.list());
  }

  size(): number {
    return this.#informers.reduce((n, i) => n + i.size(), 0);
  }

  onEvent(handler: (event: InformerEvent<T>) => void): void {
    for (const informer of this.#informers) informer.onEvent(handler);
  }

  async start(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return this.#informers.every((i) => i.hasSynced());
  }
}
