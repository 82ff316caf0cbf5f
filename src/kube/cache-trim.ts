// What the informer caches keep of an object, and how little memory it takes: no managedFields, one copy of each
// string value across every cache (docs/benchmarks.md, Memory).

/** Drops metadata.managedFields (about half of a typical object's JSON), in place, and returns the object. */
export function stripManagedFields<T>(obj: T): T {
  const meta = (obj as { metadata?: { managedFields?: unknown } } | null)?.metadata;
  if (meta && 'managedFields' in meta) delete meta.managedFields;
  return obj;
}

/**
 * One copy of each string value across every cache of the process. JSON.parse gives each object its own copy of every
 * value, so 10,000 tokens hold 10,000 copies of their namespace, provider, condition reasons and messages, and each
 * name and uid appears again in the Secret's metadata and owner reference: strings were the largest part of the heap
 * at 10,000 tokens (docs/benchmarks.md). Bounded: the table is emptied when it reaches its limit (resourceVersions
 * and timestamps keep arriving), which only means later objects are deduplicated against a fresh table.
 */
export class StringTable {
  readonly #table = new Map<string, string>();
  readonly #limit: number;

  constructor(limit = 500_000) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#table.size;
  }

  intern(value: string): string {
    const known = this.#table.get(value);
    if (known !== undefined) return known;
    if (this.#table.size >= this.#limit) this.#table.clear();
    this.#table.set(value, value);
    return value;
  }

  /** Replaces, in place, every string value (of up to 1 KiB) in a JSON-shaped object by its shared copy. */
  internAll<T>(obj: T): T {
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        const v = obj[i];
        if (typeof v === 'string') {
          if (v.length <= 1024) obj[i] = this.intern(v);
        } else if (v !== null && typeof v === 'object') this.internAll(v);
      }
    } else if (obj !== null && typeof obj === 'object') {
      const record = obj as Record<string, unknown>;
      for (const key in record) {
        const v = record[key];
        if (typeof v === 'string') {
          if (v.length <= 1024) record[key] = this.intern(v);
        } else if (v !== null && typeof v === 'object') this.internAll(v);
      }
    }
    return obj;
  }
}

/** The table every informer of the process shares (tokens, Secrets and providers repeat each other's strings). */
export const sharedStrings = new StringTable();
