// The informer's reconnect logic against a scripted fake API server on loopback: the parts a real API server will
// not do on demand (go silent mid-watch, fail watches repeatedly, send a bookmark then close).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Informer, keyOf, StringTable, trimMetadata } from '../../../src/kube/informer.ts';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; managedFields?: unknown } };
type WatchScript = (res: ServerResponse, query: URLSearchParams) => void;

interface Fake {
  kc: KubeConfig;
  lists: URLSearchParams[];
  watches: Array<{ query: URLSearchParams; at: number }>;
  /** Accept header of every request, in order. */
  accepts: Array<string | undefined>;
  items: Obj[];
  listRv: string;
  /** Consumed one per watch request; when empty, watches hang (send nothing). */
  script: WatchScript[];
  close(): Promise<void>;
}

const servers: Server[] = [];
const informers: Informer<Obj>[] = [];

afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

function line(res: ServerResponse, type: string, object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

async function fakeServer(): Promise<Fake> {
  const fake = {
    lists: [] as URLSearchParams[],
    watches: [] as Array<{ query: URLSearchParams; at: number }>,
    accepts: [] as Array<string | undefined>,
    items: [] as Obj[],
    listRv: '10',
    script: [] as WatchScript[],
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    fake.accepts.push(req.headers.accept);
    if (url.searchParams.get('watch') === 'true') {
      fake.watches.push({ query: url.searchParams, at: Date.now() });
      const step = fake.script.shift();
      if (step) step(res, url.searchParams);
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
      }
      return;
    }
    fake.lists.push(url.searchParams);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMapList',
        metadata: { resourceVersion: fake.listRv },
        items: fake.items,
      }),
    );
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  });
  return Object.assign(fake, { kc, close: async () => {} });
}

function makeInformer(fake: Fake, extra: Partial<ConstructorParameters<typeof Informer<Obj>>[0]> = {}) {
  const logged: string[] = [];
  const inf = new Informer<Obj>({
    kubeConfig: fake.kc,
    path: '/api/v1/configmaps',
    backoff: { baseMs: 20, maxMs: 200, jitter: 'equal' },
    logger: { debug() {}, info: (_o, m) => logged.push(m ?? ''), warn: (_o, m) => logged.push(m ?? '') },
    ...extra,
  });
  informers.push(inf);
  return { inf, logged };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cm = (name: string, rv: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

describe('keyOf and trimMetadata', () => {
  it('keys namespaced objects as ns/name and cluster-scoped ones as name', () => {
    expect(keyOf({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a');
    expect(keyOf({ metadata: { name: 'a' } })).toBe('a');
  });

  it('removes managedFields and leaves the rest of the object', () => {
    const o = { metadata: { name: 'a', managedFields: [{ manager: 'x' }], labels: { l: '1' } }, data: { k: 'v' } };
    expect(trimMetadata(o)).toEqual({ metadata: { name: 'a', labels: { l: '1' } }, data: { k: 'v' } });
    expect(trimMetadata(null)).toBeNull();
  });

  it("drops kubectl's last-applied copy (on a Secret it holds the data) and keeps the other annotations", () => {
    const applied = JSON.stringify({ kind: 'Secret', stringData: { token: 'management-credential' } });
    const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
    const o = { metadata: { name: 'a', annotations: { [lastApplied]: applied, note: 'kept' } } };
    expect(trimMetadata(o)).toEqual({ metadata: { name: 'a', annotations: { note: 'kept' } } });
    expect(JSON.stringify(trimMetadata({ metadata: { name: 'b', annotations: { [lastApplied]: applied } } }))).toBe(
      '{"metadata":{"name":"b"}}',
    );
  });
});

describe('trimmed metadata stays compact', () => {
  // %HasFastProperties is a V8 intrinsic: compiled after the flag is set, the function can call it.
  setFlagsFromString('--allow-natives-syntax');
  const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

  it('keeps the metadata and annotations of a parsed object in fast mode (a delete would make each a hash table)', () => {
    const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
    const json = JSON.stringify({
      metadata: {
        name: 'a',
        namespace: 'ns',
        uid: 'u',
        resourceVersion: '1',
        annotations: { [lastApplied]: '{}', note: 'kept' },
        finalizers: ['f'],
        managedFields: [{ manager: 'x' }],
      },
    });
    const trimmed = trimMetadata(JSON.parse(json) as { metadata: { annotations: object } });
    expect(trimmed.metadata).not.toHaveProperty('managedFields');
    expect(hasFastProperties(trimmed.metadata)).toBe(true);
    expect(hasFastProperties(trimmed.metadata.annotations)).toBe(true);
  });
});

describe('StringTable', () => {
  it('makes equal strings in different objects one string, and keeps values and shapes', () => {
    const table = new StringTable();
    // Built at run time, so the two values are distinct strings before interning.
    const a = { metadata: { namespace: ['te', 'am'].join('') }, list: [['x', 'y'].join(''), 1, null] };
    const b = { metadata: { namespace: ['tea', 'm'].join('') }, list: [['x', 'y'].join(''), 2, { k: 'v' }] };
    table.internAll(a);
    table.internAll(b);
    expect(a).toEqual({ metadata: { namespace: 'team' }, list: ['xy', 1, null] });
    expect(b).toEqual({ metadata: { namespace: 'team' }, list: ['xy', 2, { k: 'v' }] });
    expect(table.size).toBe(3);
  });

  it('holds at most two generations of its limit instead of growing without bound', () => {
    const table = new StringTable(2);
    for (const v of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) table.intern(v);
    expect(table.size).toBeLessThanOrEqual(4);
  });

  it('keeps a value that keeps coming back while values seen once pass through', () => {
    const table = new StringTable(4);
    const first = table.intern(['na', 'mespace'].join(''));
    for (let i = 0; i < 100; i++) {
      table.intern(`uid-${i}`);
      // The same value, a distinct string each time: interning returns the first copy for as long as it recurs.
      if (i % 3 === 0) expect(table.intern(['names', 'pace'].join(''))).toBe(first);
    }
    expect(table.size).toBeLessThanOrEqual(8);
  });
});

describe('Informer caches', () => {
  it('list and watch Secrets as PartialObjectMetadata, and strip managedFields from every object', async () => {
    const fake = await fakeServer();
    fake.items = [{ metadata: { ...cm('a', '5').metadata, managedFields: [{ manager: 'x' }] } }];
    fake.script.push((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      line(res, 'ADDED', { metadata: { ...cm('b', '11').metadata, managedFields: [{ manager: 'y' }] } });
    });
    const { inf } = makeInformer(fake, { path: '/api/v1/namespaces/ns/secrets' });
    await inf.start();
    await waitFor(() => inf.size() === 2, 'the watched object');
    expect(fake.accepts).toEqual([
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
      'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json',
    ]);
    expect(inf.list().map((o) => o.metadata.managedFields)).toEqual([undefined, undefined]);
  });

  it('ask for whole objects of other resources (the transform decides what is kept)', async () => {
    const fake = await fakeServer();
    const { inf } = makeInformer(fake);
    await inf.start();
    await waitFor(() => fake.accepts.length === 2, 'a watch');
    expect(fake.accepts).toEqual(['application/json', 'application/json']);
  });
});

describe('Informer watch handling', () => {
  it('watches from the list resourceVersion with bookmarks and a timeout jittered within ±10%', async () => {
    const low = await fakeServer();
    await makeInformer(low, { random: () => 0 }).inf.start();
    await waitFor(() => low.watches.length === 1, 'a watch');
    const q = low.watches[0]!.query;
    expect(q.get('resourceVersion')).toBe('10');
    expect(q.get('allowWatchBookmarks')).toBe('true');
    expect(q.get('timeoutSeconds')).toBe('270');

    const high = await fakeServer();
    await makeInformer(high, { random: () => 0.9999 }).inf.start();
    await waitFor(() => high.watches.length === 1, 'a watch');
    expect(high.watches[0]!.query.get('timeoutSeconds')).toBe('330');
  });

  it('passes label and field selectors to both list and watch', async () => {
    const fake = await fakeServer();
    await makeInformer(fake, { labelSelector: 'a=b', fieldSelector: 'metadata.name=x' }).inf.start();
    await waitFor(() => fake.watches.length === 1, 'a watch');
    for (const q of [fake.lists[0]!, fake.watches[0]!.query]) {
      expect(q.get('labelSelector')).toBe('a=b');
      expect(q.get('fieldSelector')).toBe('metadata.name=x');
    }
  });

  it('resumes from the resourceVersion of the last bookmark after the server closes the watch', async () => {
    const fake = await fakeServer();
    fake.script.push((res) => {
      res.writeHead(200);
      line(res, 'ADDED', cm('a', '15'));
      line(res, 'BOOKMARK', { metadata: { resourceVersion: '42' } });
      res.end();
    });
    const { inf } = makeInformer(fake);
    await inf.start();
    await waitFor(() => fake.watches.length === 2, 'a second watch');
    expect(fake.watches[1]!.query.get('resourceVersion')).toBe('42');
    expect(inf.get('ns/a')).toBeDefined();
    expect(inf.restarts).toBe(1);
  });

  it('aborts a watch that goes silent for longer than timeoutSeconds plus the margin, and starts again', async () => {
    const fake = await fakeServer();
    // No script: every watch answers 200 and then never sends a byte (a half-open connection).
    const { inf, logged } = makeInformer(fake, { timeoutSeconds: 1, stallMarginMs: 300, random: () => 0.5 });
    await inf.start();
    await waitFor(() => fake.watches.length === 2, 'a restarted watch', 4000);
    const gap = fake.watches[1]!.at - fake.watches[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(1250);
    expect(gap).toBeLessThan(2500);
    expect(logged).toContain('watch stalled; restarting');
    expect(inf.restarts).toBe(1);
  });

  it('backs off exponentially while watches keep failing, without relisting', async () => {
    const fake = await fakeServer();
    const fail: WatchScript = (res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","code":500}');
    };
    fake.script.push(fail, fail, fail, fail);
    const { inf } = makeInformer(fake, {
      backoff: { baseMs: 100, maxMs: 10_000, jitter: 'equal' },
      random: () => 0.9999,
    });
    await inf.start();
    await waitFor(() => fake.watches.length === 5, 'five watch attempts');
    const gaps = fake.watches.slice(1).map((w, i) => w.at - fake.watches[i]!.at);
    // Equal jitter with random≈1: the full backoff, 100, 200, 400, 800 ms (plus request time).
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[2]).toBeGreaterThanOrEqual(395);
    expect(gaps[3]).toBeGreaterThanOrEqual(795);
    expect(gaps[3]).toBeLessThan(1500);
    expect(fake.lists).toHaveLength(1); // an ordinary error resumes the watch, it does not relist
  });

  it('relists on an ERROR 410 event and emits only the difference', async () => {
    const fake = await fakeServer();
    fake.items = [cm('same', '1'), cm('changed', '2'), cm('deleted', '3')];
    fake.script.push((res) => {
      res.writeHead(200);
      // Meanwhile the world moved on; then the watch window is gone.
      fake.items = [cm('same', '1'), cm('changed', '20'), cm('created', '21')];
      fake.listRv = '30';
      line(res, 'ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
      res.end();
    });
    const { inf } = makeInformer(fake);
    const events: string[] = [];
    inf.onEvent((e) => events.push(`${e.type}:${e.object.metadata.name}`));
    await inf.start();
    await waitFor(() => fake.lists.length === 2 && fake.watches.length === 2, 'relist and new watch');
    expect(events.slice(3).sort()).toEqual(['add:created', 'delete:deleted', 'update:changed']);
    expect(fake.watches[1]!.query.get('resourceVersion')).toBe('30');
  });

  it('keeps following the server when a handler throws', async () => {
    const fake = await fakeServer();
    fake.script.push((res) => {
      res.writeHead(200);
      line(res, 'ADDED', cm('a', '11'));
      line(res, 'ADDED', cm('b', '12'));
      res.end();
    });
    const { inf, logged } = makeInformer(fake);
    inf.onEvent(() => {
      throw new Error('boom');
    });
    await inf.start();
    await waitFor(() => inf.size() === 2, 'both objects');
    expect(logged.filter((m) => m === 'informer handler threw')).toHaveLength(2);
  });

  it('fills in apiVersion and kind on listed items and applies the transform', async () => {
    const fake = await fakeServer();
    fake.items = [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '1', managedFields: [{}] } }];
    const { inf } = makeInformer(fake, { transform: trimMetadata });
    await inf.start();
    expect(inf.get('ns/a')).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'ns', resourceVersion: '1' },
    });
  });
});
