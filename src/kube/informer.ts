// A list+watch cache that does not give up. client-node's own informer stops on watch errors and never resyncs, so
// this one is written directly on a watch stream (client.ts kubeWatch) plus a paginated list
// (docs/decisions/0002-resilient-informer.md):
//   list (consistent read) → watch from the list's resourceVersion with bookmarks and a jittered timeoutSeconds;
//   watch ended or failed → watch again from the last resourceVersion seen (events and bookmarks advance it), with
//     exponential backoff + jitter when it keeps failing fast;
//   410 Gone (the resourceVersion was compacted away) → relist and emit the difference as add/update/delete events,
//     so handlers hear about everything that changed while the informer was away;
//   no event or bookmark for longer than timeoutSeconds + a margin → the connection is presumed dead (half-open TCP,
//     a stuck proxy): abort it and start again.
// Objects pass through `transform` on ingest so the cache holds only what controllers need (DESIGN §3: no
// managedFields). Secrets are listed and watched as PartialObjectMetadata: their data never reaches the process.
import { type BackoffPolicy, backoffDelay } from '../backoff.ts';
import { type Clock, realClock, Sleeper } from '../clock.ts';
import { sharedStrings, trimMetadata } from './cache-trim.ts';
import { isGone, type KubeConfig, kubeRequest, kubeWatch, statusCodeOf } from './client.ts';

export { StringTable, trimMetadata } from './cache-trim.ts';

export interface InformerLogger {
  debug(o: object, msg?: string): void;
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface InformerOptions<T> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. '/apis/tokensync.io/v1alpha1/serviceaccounttokens', '/api/v1/namespaces/ns/secrets'. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Applied to every object on ingest (list and watch) before it is cached or handed to handlers. */
  // biome-ignore lint/suspicious/noExplicitAny: raw API JSON; the transform is where it gets its type
  transform?: (obj: any) => T;
  /** Server-side watch timeout; each watch uses this ±10% so many informers do not reconnect in step. Default 300. */
  timeoutSeconds?: number;
  /** Extra silence tolerated beyond timeoutSeconds before the watch is declared stalled. Default 30 s. */
  stallMarginMs?: number;
  /**
   * List and watch PartialObjectMetadata (metadata only: no spec, status or data reach the process). Default: on for
   * Secrets (a path ending in /secrets under /api/v1), off for everything else.
   */
  metadataOnly?: boolean;
  /** Page size of the list call. Default 500. */
  pageSize?: number;
  logger?: InformerLogger;
  /** Reconnect backoff after consecutive failures. Default 0.8 s doubling to 30 s, equal jitter. */
  backoff?: BackoffPolicy;
  random?: () => number;
  clock?: Clock;
}

/** Equal jitter: never less than half the delay, never in lockstep with the other informers. */
const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 800, maxMs: 30_000, jitter: 'equal' };

export type InformerEvent<T> =
  | { type: 'add'; object: T }
  | { type: 'update'; object: T; old: T }
  | { type: 'delete'; object: T };

type RawObject = Record<string, unknown>;
export type Meta = { metadata: { name: string; namespace?: string; resourceVersion?: string } };

/** Cache key: 'namespace/name', or 'name' for cluster-scoped objects (as client-go's MetaNamespaceKeyFunc). */
export function keyOf(obj: { metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** Accept headers asking for metadata only, as client-go's metadata informers do (JSON as the fallback). */
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

const noopLogger: InformerLogger = { debug() {}, info() {}, warn() {} };

type WatchOutcome =
  | { kind: 'closed' } // the server ended the watch (timeoutSeconds reached): normal, reconnect at once
  | { kind: 'gone' } // 410: our resourceVersion is too old, relist
  | { kind: 'stalled' }
  | { kind: 'stopped' }
  | { kind: 'error'; error: unknown };

interface ListResponse {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: Array<Record<string, unknown>>;
}

export class Informer<T extends Meta> {
  readonly #opts: InformerOptions<T>;
  readonly #log: InformerLogger;
  readonly #transform: (obj: RawObject) => T;
  readonly #random: () => number;
  readonly #handlers: Array<(event: InformerEvent<T>) => void> = [];
  #cache = new Map<string, T>();
  #resourceVersion = '';
  #synced = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #currentWatch: AbortController | undefined;
  #abortReason: WatchOutcome | undefined;
  readonly #clock: Clock;
  readonly #sleeper: Sleeper;
  #restarts = 0;
  #paused: Promise<void> | undefined;
  #resume: (() => void) | undefined;
  readonly #metadataOnly: boolean;

  constructor(options: InformerOptions<T>) {
    this.#opts = options;
    this.#metadataOnly = options.metadataOnly ?? /^\/api\/v1\/(namespaces\/[^/]+\/)?secrets$/.test(options.path);
    this.#log = options.logger ?? noopLogger;
    this.#transform = options.transform ?? ((o) => o as T);
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? realClock;
    this.#sleeper = new Sleeper(this.#clock);
  }

  /** Number of watches started after the first one (reconnects, relists, stall recoveries). */
  get restarts(): number {
    return this.#restarts;
  }

  onEvent(handler: (event: InformerEvent<T>) => void): void {
    this.#handlers.push(handler);
  }

  /** Resolves once the first list is in the cache; list failures are retried with backoff until then. */
  start(): Promise<void> {
    if (this.#running) throw new Error('informer already started');
    this.#stopped = false;
    this.#sleeper.start();
    let synced!: () => void;
    const syncedP = new Promise<void>((r) => {
      synced = r;
    });
    this.#running = this.#run(synced).catch((err) => {
      this.#log.warn({ err, path: this.#opts.path }, 'informer loop crashed');
    });
    // If stop() comes before the first sync, start() resolves (hasSynced() stays false) rather than hanging.
    return Promise.race([syncedP, this.#running]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#resume?.();
    this.#abortWatch({ kind: 'stopped' });
    this.#sleeper.stop();
    await this.#running;
    this.#running = undefined;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  size(): number {
    return this.#cache.size;
  }

  /** The resourceVersion the next watch would start from. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /**
   * Fault injection for tests: cut the current watch and hold off reconnecting until `resume`, optionally with a
   * different resourceVersion (a stale one provokes 410 Gone, as if etcd had compacted while we were away).
   */
  readonly testing = {
    disconnect: (): void => {
      if (!this.#paused) {
        this.#paused = new Promise<void>((r) => {
          this.#resume = r;
        });
      }
      this.#abortWatch({ kind: 'error', error: new Error('disconnected by test') });
    },
    resume: (options: { resourceVersion?: string } = {}): void => {
      if (options.resourceVersion !== undefined) this.#resourceVersion = options.resourceVersion;
      const resume = this.#resume;
      this.#paused = undefined;
      this.#resume = undefined;
      resume?.();
    },
  };

  // -------------------------------------------------------------------------------------------------------------

  async #run(synced: () => void): Promise<void> {
    let failures = 0;
    // First sync: keep trying; a controller cannot do anything useful without its cache.
    while (!this.#stopped) {
      try {
        await this.#relist();
        break;
      } catch (err) {
        failures++;
        this.#log.warn({ err: describe(err), path: this.#opts.path, failures }, 'informer list failed');
        await this.#sleep(this.#backoff(failures));
      }
    }
    if (this.#stopped) return;
    this.#synced = true;
    synced();

    failures = 0;
    let first = true;
    while (!this.#stopped) {
      if (this.#paused) await this.#paused;
      if (this.#stopped) break;
      if (!first) this.#restarts++;
      first = false;
      const started = this.#clock.now();
      const outcome = await this.#watchOnce();
      if (this.#stopped || outcome.kind === 'stopped') break;
      if (outcome.kind === 'closed') {
        // A watch that ran a while and ended is the normal server-side timeout; one that ends at once is a failure.
        failures = this.#clock.now() - started > 1000 ? 0 : failures + 1;
        if (failures > 0) await this.#sleep(this.#backoff(failures));
        continue;
      }
      if (outcome.kind === 'stalled') {
        this.#log.warn({ path: this.#opts.path, resourceVersion: this.#resourceVersion }, 'watch stalled; restarting');
        failures = 0;
        continue;
      }
      if (outcome.kind === 'error' && !isGone(outcome.error)) {
        failures++;
        const delay = this.#backoff(failures);
        this.#log.info(
          { err: describe(outcome.error), path: this.#opts.path, failures, delayMs: Math.round(delay) },
          'watch failed; retrying',
        );
        await this.#sleep(delay);
        continue;
      }
      // 410 Gone: the history we would resume from is compacted. Relist until it works, then watch again.
      this.#log.info(
        { path: this.#opts.path, resourceVersion: this.#resourceVersion },
        'watch expired (410); relisting',
      );
      let listFailures = 0;
      while (!this.#stopped) {
        try {
          await this.#relist();
          failures = 0;
          break;
        } catch (err) {
          listFailures++;
          this.#log.warn({ err: describe(err), path: this.#opts.path }, 'relist failed');
          await this.#sleep(this.#backoff(listFailures));
        }
      }
    }
  }

  /** Lists everything (paginated), replaces the cache and emits the differences from what was cached before. */
  async #relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      let page: ListResponse;
      try {
        page = await kubeRequest<ListResponse>(this.#opts.kubeConfig, {
          method: 'GET',
          path: this.#opts.path,
          ...(this.#metadataOnly ? { accept: METADATA_LIST } : {}),
          query: {
            labelSelector: this.#opts.labelSelector,
            fieldSelector: this.#opts.fieldSelector,
            limit: this.#opts.pageSize ?? 500,
            continue: continueToken,
          },
        });
      } catch (err) {
        // The continue token expired mid-list: start over from the first page.
        if (isGone(err) && continueToken) {
          fresh.clear();
          continueToken = undefined;
          continue;
        }
        throw err;
      }
      // List items carry no apiVersion/kind; fill them in so cached objects look like watched ones.
      const apiVersion = page.apiVersion;
      const kind = page.kind?.endsWith('List') ? page.kind.slice(0, -4) : undefined;
      for (const raw of page.items ?? []) {
        if (apiVersion && raw['apiVersion'] === undefined) raw['apiVersion'] = apiVersion;
        if (kind && raw['kind'] === undefined) raw['kind'] = kind;
        const obj = sharedStrings.internAll(this.#transform(trimMetadata(raw)));
        fresh.set(keyOf(obj), obj);
      }
      // The page (and the raw objects the transform did not keep) can go before the next one is read.
      page.items = [];
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (continueToken);

    const old = this.#cache;
    this.#cache = fresh;
    this.#resourceVersion = resourceVersion;
    for (const [key, obj] of fresh) {
      const prev = old.get(key);
      if (!prev) this.#emit({ type: 'add', object: obj });
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.#emit({ type: 'update', object: obj, old: prev });
    }
    for (const [key, prev] of old) if (!fresh.has(key)) this.#emit({ type: 'delete', object: prev });
    this.#log.debug({ path: this.#opts.path, count: fresh.size, resourceVersion }, 'listed');
  }

  #watchOnce(): Promise<WatchOutcome> {
    const base = this.#opts.timeoutSeconds ?? 300;
    const timeoutSeconds = Math.max(1, Math.round(base * (0.9 + this.#random() * 0.2)));
    const stallMs = timeoutSeconds * 1000 + (this.#opts.stallMarginMs ?? 30_000);
    this.#abortReason = undefined;
    const controller = new AbortController();
    this.#currentWatch = controller;

    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let stallTimer: ReturnType<typeof setTimeout> | undefined;
      let apiError: unknown;
      const finish = (outcome: WatchOutcome) => {
        if (settled) return;
        settled = true;
        if (stallTimer) clearTimeout(stallTimer);
        this.#currentWatch = undefined;
        this.#abortReason = undefined;
        resolve(outcome);
      };
      const armStall = () => {
        if (stallTimer) clearTimeout(stallTimer);
        stallTimer = setTimeout(() => this.#abortWatch({ kind: 'stalled' }), stallMs);
      };
      const onEvent = (phase: string, obj: RawObject) => {
        if (settled || apiError) return;
        armStall();
        try {
          this.#ingest(phase, obj);
        } catch (err) {
          if (phase === 'ERROR') {
            // The server ends the stream after an ERROR event; stop reading now.
            apiError = err;
            controller.abort();
          } else this.#log.warn({ err: describe(err), phase }, 'watch event could not be handled');
        }
      };
      const onDone = (err: unknown) => {
        const reason = this.#abortReason;
        if (reason) finish(reason);
        else if (apiError) finish({ kind: 'error', error: apiError });
        else if (err) finish({ kind: 'error', error: err });
        else finish({ kind: 'closed' });
      };
      armStall();
      // stop() or a test disconnect may have come before this watch was opened.
      if (this.#stopped) this.#abortWatch({ kind: 'stopped' });
      kubeWatch(
        this.#opts.kubeConfig,
        {
          path: this.#opts.path,
          query: {
            resourceVersion: this.#resourceVersion || undefined,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.#opts.labelSelector || undefined,
            fieldSelector: this.#opts.fieldSelector || undefined,
          },
          ...(this.#metadataOnly ? { accept: METADATA_WATCH } : {}),
          signal: controller.signal,
        },
        onEvent,
      ).then(
        () => onDone(undefined),
        (err: unknown) => onDone(err),
      );
    });
  }

  #ingest(phase: string, raw: RawObject): void {
    if (phase === 'ERROR') {
      // A Status object: 410 Expired/Gone when our resourceVersion fell out of the watch window.
      const code = typeof raw?.['code'] === 'number' ? raw['code'] : 500;
      const message = typeof raw?.['message'] === 'string' ? raw['message'] : 'watch error';
      throw Object.assign(new Error(message), { statusCode: code, body: raw });
    }
    const rv = (raw?.['metadata'] as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (phase === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const obj = sharedStrings.internAll(this.#transform(trimMetadata(raw)));
    const key = keyOf(obj);
    if (phase === 'ADDED' || phase === 'MODIFIED') {
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (rv) this.#resourceVersion = rv;
      this.#emit(old ? { type: 'update', object: obj, old } : { type: 'add', object: obj });
    } else if (phase === 'DELETED') {
      this.#cache.delete(key);
      if (rv) this.#resourceVersion = rv;
      this.#emit({ type: 'delete', object: obj });
    }
  }

  #emit(event: InformerEvent<T>): void {
    for (const h of this.#handlers) {
      try {
        h(event);
      } catch (err) {
        // One faulty handler must not stop the cache from following the server.
        this.#log.warn({ err: describe(err), type: event.type, key: keyOf(event.object) }, 'informer handler threw');
      }
    }
  }

  #abortWatch(reason: WatchOutcome): void {
    this.#abortReason ??= reason;
    this.#currentWatch?.abort();
  }

  #backoff(failures: number): number {
    return backoffDelay(this.#opts.backoff ?? DEFAULT_BACKOFF, failures, this.#random);
  }

  #sleep(ms: number): Promise<void> {
    return this.#sleeper.sleep(ms);
  }
}

function describe(err: unknown): object {
  if (err instanceof Error) return { message: err.message, statusCode: statusCodeOf(err) };
  return { error: String(err) };
}
