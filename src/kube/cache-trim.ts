// What the informer caches keep of an object, and how little memory it takes: no managedFields or kubectl's
// last-applied copy, one copy of each string value across every cache (docs/benchmarks.md, Memory).

/** The annotation `kubectl apply` (client-side) leaves: the whole last-applied manifest as JSON. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Drops what no reconcile reads and every object may carry in bulk, and returns the object: metadata.managedFields
 * (about half of a typical object's JSON), and kubectl's last-applied-configuration annotation, a second copy of the
 * object as its user applied it. On a Secret applied with kubectl that copy holds the data, so a metadata-only watch of
 * credential Secrets would otherwise keep every management credential in the cache. Nothing writes a cached object
 * back whole (the controller patches), so what is dropped here is never lost.
 *
 * The metadata (and annotations) are rebuilt without those keys rather than `delete`d from: on Node 24's V8 a
 * `delete` turns the object into a hash-table ("dictionary mode") object, 448 bytes of property storage instead of
 * about 80, twice per token (its metadata and its Secret's): 8.5 MiB of the heap at 10,000 tokens
 * (docs/benchmarks.md, Memory).
 */
export function trimMetadata<T>(obj: T): T {
  const holder = obj as { metadata?: Record<string, unknown> } | null;
  const meta = holder?.metadata;
  if (!meta) return obj;
  const annotations = meta['annotations'] as Record<string, string> | undefined;
  const lastApplied = annotations !== undefined && LAST_APPLIED_ANNOTATION in annotations;
  if (!('managedFields' in meta) && !lastApplied) return obj;
  let kept = without(meta, 'managedFields');
  if (lastApplied) {
    const others = without(annotations, LAST_APPLIED_ANNOTATION);
    kept = Object.keys(others).length > 0 ? { ...kept, annotations: others } : without(kept, 'annotations');
  }
  (holder as { metadata: Record<string, unknown> }).metadata = kept;
  return obj;
}

/** A copy of `record` without `key`, in V8's fast mode (see trimMetadata). */
function without<V>(record: Record<string, V>, key: string): Record<string, V> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

/**
 * One copy of each string value across every cache of the process. JSON.parse gives each object its own copy of every
 * value, so 10,000 tokens hold 10,000 copies of their namespace, provider, condition reasons and messages, and each
 * name and uid appears again in the Secret's metadata and owner reference: strings were the largest part of the heap
 * at 10,000 tokens (docs/benchmarks.md).
 *
 * Bounded and small, because the table is itself in the heap: a Map holding every distinct value (uids,
 * resourceVersions, timestamps: about 23 per token) took 7.3 MiB at 10,000 tokens, as much as it saved. So it keeps two
 * generations of `limit` entries each: a value is looked up in both, a value found in the old generation moves to the
 * new one, and a full new generation becomes the old one (dropping the old). Values that repeat often (namespaces,
 * provider names, reasons, label and annotation values) stay; a value seen once passes through and is dropped.
 */
export class StringTable {
  #young = new Map<string, string>();
  #old = new Map<string, string>();
  readonly #limit: number;

  constructor(limit = 16_384) {
    this.#limit = limit;
  }

  /** Entries held, at most twice the limit. */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  intern(value: string): string {
    const young = this.#young.get(value);
    if (young !== undefined) return young;
    const shared = this.#old.get(value) ?? value;
    if (this.#young.size >= this.#limit) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(shared, shared);
    return shared;
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
