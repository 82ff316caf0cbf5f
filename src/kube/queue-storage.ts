// The work queue's storage: for keys scheduled later, a binary min-heap (one timer for the earliest, however many
// renewals wait); for queued keys, one Lane per priority, a FIFO per fairness domain (namespace) inside it,
// served round-robin. Entries superseded by a priority raise or dropped are skipped lazily when met.

/** A queued key. Live while the queue's #queued map points at this very entry (a priority raise supersedes it). */
export interface Entry {
  key: string;
  lane: number;
  domain: string;
}

/** FIFO as array + head index: shift() on a large array is O(n); we compact occasionally instead. */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/**
 * One priority level: a FIFO per domain (namespace) and a ring of the domains that have keys, served round-robin,
 * so a namespace with 10,000 keys queued delays another namespace's key by one turn, not by 10,000.
 */
export class Lane {
  readonly #byDomain = new Map<string, Fifo<Entry>>();
  readonly #ring = new Fifo<string>();

  push(entry: Entry): void {
    let fifo = this.#byDomain.get(entry.domain);
    if (!fifo) {
      fifo = new Fifo();
      this.#byDomain.set(entry.domain, fifo);
      this.#ring.push(entry.domain);
    }
    fifo.push(entry);
  }

  /** The next live entry, round-robin across domains; superseded entries met on the way are dropped. */
  shift(isLive: (e: Entry) => boolean): Entry | undefined {
    for (;;) {
      const domain = this.#ring.shift();
      if (domain === undefined) return undefined;
      const fifo = this.#byDomain.get(domain)!;
      let entry = fifo.shift();
      while (entry && !isLive(entry)) entry = fifo.shift();
      if (fifo.length > 0) this.#ring.push(domain);
      else this.#byDomain.delete(domain);
      if (entry) return entry;
    }
  }
}

/** A binary min-heap ordered by `less`. */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  clear(): void {
    this.#items.length = 0;
  }

  push(item: T): void {
    const h = this.#items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const h = this.#items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
