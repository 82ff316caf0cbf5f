// Helpers shared by the benchmarks that run `tokensync controller` as a child process against the Go-built control
// plane and the reference credentials API (memory.bench.ts; the same shapes as controller.bench.ts's own helpers).
// Not a benchmark itself (no .bench.ts suffix, so bench/run.ts does not run it).
import { spawnSync } from 'node:child_process';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import type { RunningCredentialsApi as CredentialsApi } from '../src/credentials-api/index.ts';
import { type KubeConfig, kubeRequest } from '../src/kube/client.ts';
import { Informer } from '../src/kube/informer.ts';
import type { ControllerProcess } from '../test/integration/controller/process.ts';
import type { AuditEvent } from '../test/support/control-plane.ts';
import { REPO_ROOT } from '../test/support/paths.ts';

export const log = (message: string) => process.stdout.write(`${message}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const MiB = 2 ** 20;

/** Runs fn over items with at most `concurrency` calls in flight. */
export async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Polls `probe` every `pollMs` until it holds; a figure timed by the wait is as fine as `pollMs`. */
export async function until(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  pollMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(pollMs);
  }
}

/** Compiles src/ to dist/ (tsconfig.build.json), what the image runs; returns dist/cli/main.js. */
export function buildDist(): string {
  const result = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${result.stdout}${result.stderr}`);
  return join(REPO_ROOT, 'dist/cli/main.js');
}

export const apply = (kc: KubeConfig, path: string, body: unknown) =>
  kubeRequest(kc, {
    method: 'PATCH',
    path,
    query: { fieldManager: 'bench', force: true },
    body,
    contentType: 'application/apply-patch+yaml',
  });

/** A namespace with the reference provider and its credential Secret (labelled as a credential, as 0014 asks). */
export async function setupNamespace(kc: KubeConfig, api: CredentialsApi, ns: string): Promise<void> {
  await apply(kc, `/api/v1/namespaces/${ns}`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await apply(kc, `/api/v1/namespaces/${ns}/secrets/admin`, {
    apiVersion: 'v1',
    kind: 'Secret',
    // Opted in as a provider credential (docs/decisions/0014).
    metadata: { name: 'admin', namespace: ns, labels: { 'tokensync.io/credential': 'true' } },
    stringData: { token: api.adminKey },
  });
  await apply(kc, `/apis/tokensync.io/v1alpha1/namespaces/${ns}/credentialsproviders/reference`, {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name: 'reference', namespace: ns },
    spec: {
      type: 'reference',
      url: api.url,
      allowInsecureHttp: true,
      auth: { secretRef: { name: 'admin', key: 'token' } },
      rateLimit: { requestsPerSecond: 5000, burst: 5000 },
    },
  });
}

export function satBody(ns: string, name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { name, namespace: ns },
    spec: { providerRef: { name: 'reference' }, serviceAccount: 'sa-bench', ...spec },
  };
}

/**
 * CPU seconds (user + system) used so far by each process: `pids` from /proc/<pid>/stat (in USER_HZ ticks, 100 per
 * second on every Linux architecture), and this bench process itself (the reference credentials API and the bench's
 * clients and watches run in it) as `bench`. Two snapshots around a phase say where the machine's cores went.
 */
export async function cpuSnapshot(pids: Record<string, number>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name, which is in parentheses and may contain spaces: utime and stime are the
    // 14th and 15th fields of the line, so the 12th and 13th after ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.length > 12) out[name] = (Number(fields[11]) + Number(fields[12])) / 100;
  }
  const self = process.cpuUsage();
  out['bench'] = (self.user + self.system) / 1e6;
  return out;
}

/** "kube-apiserver 80.1 s (61%), ..." for the CPU used between two snapshots over `wallMs`, busiest first. */
export function formatCpu(before: Record<string, number>, after: Record<string, number>, wallMs: number): string {
  const used = Object.keys(after)
    .filter((name) => before[name] !== undefined)
    .map((name) => [name, after[name]! - before[name]!] as const)
    .sort((a, b) => b[1] - a[1]);
  const total = used.reduce((sum, [, s]) => sum + s, 0);
  const parts = used.map(([name, s]) => `${name} ${s.toFixed(1)} s (${((100 * s) / total).toFixed(0)}%)`);
  return `${parts.join(', ')}; ${total.toFixed(1)} CPU-s in ${(wallMs / 1000).toFixed(1)} s = ${(total / (wallMs / 1000)).toFixed(2)} cores busy`;
}

/** The reference API's own counters (docs/credentials-api.md). */
export async function upstreamStats(
  api: CredentialsApi,
): Promise<{ mints: number; revokes: number; requests: number }> {
  const res = await request(`${api.url}/api/v1/audit/stats`, { headers: { authorization: `Bearer ${api.adminKey}` } });
  return (await res.body.json()) as { mints: number; revokes: number; requests: number };
}

export async function scrape(controller: ControllerProcess): Promise<string> {
  return (await request(`${controller.metricsUrl}/metrics`)).body.text();
}

const metric = (text: string, name: string, labels = ''): number => {
  const escaped = `${name}${labels}`.replace(/[{}"=]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
};

/** Whether the controller has reconciled at least n tokens since it started and its queue is empty. */
export async function caughtUp(controller: ControllerProcess, n: number): Promise<boolean> {
  const text = await scrape(controller);
  const done = [...text.matchAll(/^tokensync_reconcile_total\{controller="serviceaccounttoken",result="\w+"\} (\d+)/gm)]
    .map((m) => Number(m[1]))
    .reduce((a, b) => a + b, 0);
  return done >= n && metric(text, 'tokensync_workqueue_depth', '{name="serviceaccounttoken"}') === 0;
}

export interface MemoryFigures {
  rss: number;
  anon: number;
  file: number;
  peak: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  spaces: Record<string, { used: number; size: number }>;
}

/** RSS from /proc (anonymous and file-backed parts, peak) and V8's own figures from the controller's metrics. */
export async function memoryOf(controller: ControllerProcess): Promise<MemoryFigures> {
  const status = await readFile(`/proc/${controller.child.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) / 1024;
  const text = await scrape(controller);
  const spaces: MemoryFigures['spaces'] = {};
  for (const m of text.matchAll(/^tokensync_nodejs_heap_space_size_used_bytes\{space="(\w+)"\} (\S+)/gm)) {
    spaces[m[1]!] = {
      used: Number(m[2]) / MiB,
      size: metric(text, 'tokensync_nodejs_heap_space_size_total_bytes', `{space="${m[1]}"}`) / MiB,
    };
  }
  return {
    rss: kb('VmRSS'),
    anon: kb('RssAnon'),
    file: kb('RssFile'),
    peak: kb('VmHWM'),
    heapUsed: metric(text, 'tokensync_nodejs_heap_size_used_bytes') / MiB,
    heapTotal: metric(text, 'tokensync_nodejs_heap_size_total_bytes') / MiB,
    external: metric(text, 'tokensync_nodejs_external_memory_bytes') / MiB,
    spaces,
  };
}

export function formatMemory(m: MemoryFigures): string {
  const f = (v: number) => v.toFixed(0);
  const spaces = Object.entries(m.spaces)
    .filter(([, s]) => s.size >= 0.5)
    .map(([name, s]) => `${name} ${s.used.toFixed(1)}/${s.size.toFixed(1)}`)
    .join(', ');
  const outside = m.anon - m.heapTotal;
  return (
    `RSS ${f(m.rss)} MiB = anonymous ${f(m.anon)} + file-backed ${f(m.file)} (peak ${f(m.peak)}); ` +
    `V8 heap used ${f(m.heapUsed)} of ${f(m.heapTotal)} MiB reserved [${spaces}]; external ${f(m.external)} MiB; ` +
    `anonymous outside the V8 heap ${f(outside)} MiB (malloc arenas, buffers, code of native modules, thread stacks)`
  );
}

/**
 * Write events in the audit log after `offset` (bytes), other than the API server's own bookkeeping. Reads only the
 * new part: at 100,000 tokens the whole log is over a GiB, more than one string can hold.
 */
export async function auditWritesSince(path: string, offset: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const size = (await stat(path)).size;
  if (size <= offset) return counts;
  const fh = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size - offset);
    await fh.read(buffer, 0, buffer.length, offset);
    for (const line of buffer.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as {
        verb: string;
        user: { username: string };
        objectRef?: { resource?: string; subresource?: string };
      };
      if (!['create', 'update', 'patch', 'delete', 'deletecollection'].includes(e.verb)) continue;
      if (e.user.username === 'system:apiserver' || e.user.username.startsWith('system:kube-')) continue;
      const key = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  } finally {
    await fh.close();
  }
  return counts;
}

export const fileSize = async (path: string | undefined) =>
  path ? ((await stat(path).catch(() => undefined))?.size ?? 0) : 0;

/** Waits for the heap snapshot Node writes on --heapsnapshot-signal into `dir`, until its size stops changing. */
export async function waitForSnapshot(dir: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let stableSince = 0;
  while (Date.now() < deadline) {
    const file = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot'));
    if (file) {
      const size = (await stat(join(dir, file))).size;
      if (size === last && size > 0) {
        if (Date.now() - stableSince > 2000) return join(dir, file);
      } else {
        last = size;
        stableSince = Date.now();
      }
    }
    await sleep(250);
  }
  throw new Error('no heap snapshot written');
}

/**
 * Self sizes in a V8 heap snapshot grouped the way DevTools' summary groups them: objects by constructor, the rest
 * by node type (code, strings, closures, arrays, hidden). Retained sizes would need the dominator tree; self sizes
 * already say where the bytes are.
 */
export async function summarizeSnapshot(
  path: string,
  top = 14,
): Promise<{ total: number; groups: Array<[string, number, number]> }> {
  const snapshot = JSON.parse(await readFile(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const stride = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const groups = new Map<string, [number, number]>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += stride) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    total += size;
    let key = type;
    // Arrays by their role: "(object properties)" is the hash table of an object in dictionary mode (a fast object's
    // properties are a "PropertyArray" instead), "(object elements)" the elements of arrays, "" mostly Maps' tables.
    if (type === 'object' || type === 'native' || type === 'array')
      key = `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!] || '(Map and Set tables, other)'}`;
    else if (type.includes('string')) key = 'strings';
    const g = groups.get(key) ?? [0, 0];
    g[0] += size;
    g[1]++;
    groups.set(key, g);
  }
  const sorted = [...groups].sort((a, b) => b[1][0] - a[1][0]).slice(0, top);
  return { total, groups: sorted.map(([k, [size, count]]) => [k, size, count]) };
}

/**
 * Samples every allocation of a process started with --inspect=127.0.0.1:0, garbage included (the Chrome DevTools
 * protocol's HeapProfiler sampling with the collected-objects flags; Node's own --heap-prof keeps only what is still
 * live at exit). Returns a function that stops sampling and summarizes the bytes allocated per function.
 */
export async function startAllocationSampling(
  output: string[],
): Promise<() => Promise<{ total: number; top: Array<[string, number]> }>> {
  let url: string | undefined;
  await until(
    'inspector URL',
    async () => {
      url = output.map((l) => /ws:\/\/\S+/.exec(l)?.[0]).find(Boolean);
      return url !== undefined;
    },
    30_000,
  );
  const ws = new WebSocket(url!);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call('HeapProfiler.enable');
  await call('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = (await call('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
    ws.close();
    type ProfileNode = {
      callFrame: { functionName: string; url: string; lineNumber: number };
      selfSize: number;
      children: ProfileNode[];
    };
    const byFunction = new Map<string, number>();
    let total = 0;
    const walk = (node: ProfileNode, ownFrame: string | undefined) => {
      const cf = node.callFrame;
      const file = cf.url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|dist[^/]*)\//, '');
      const frame = `${cf.functionName || '(anonymous)'} ${file}:${cf.lineNumber + 1}`;
      // Attributed to the innermost frame of tokensync's own code, where a change would have to be made.
      const own = cf.url && !cf.url.includes('node_modules') && !cf.url.startsWith('node:') ? frame : ownFrame;
      total += node.selfSize;
      const key = `${frame}  ← ${own ?? '(runtime)'}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
      for (const child of node.children) walk(child, own);
    };
    walk(profile.head, undefined);
    return { total, top: [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25) };
  };
}

export interface RenewalFigures {
  /** |fired − renewalTime| per token whose renewal fired, in ms. */
  deltas: number[];
  count: number;
  /** From the first renewal time to the last. */
  spreadMs: number;
  /** The most renewal times in one wall-clock second. */
  maxPerSecond: number;
  /** The first renewal time after the moment every token was Ready (negative: renewals overlapped issuance). */
  firstDueAfterReadyMs: number;
  /** Of `deltas`, those of renewals due before every token was Ready: they competed with the batch's own issuance. */
  deltasDueBeforeReady: number[];
  /** The rest: renewals due once every token was Ready. */
  deltasDueAfterReady: number[];
  /** CPU used by each process from the first renewal time to a second after the last (formatCpu), when pids given. */
  cpu?: string;
  /** Controller writes in the namespace while renewals fell due, per renewal, by verb and resource (audit log). */
  writes?: string;
}

interface RenewingToken {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: { revision?: number; renewalTime?: string; conditions?: Array<{ type: string; status: string }> };
}

/**
 * Renewal punctuality: `count` tokens with `spec` created together in namespace `ns` (set up here). Each token's
 * renewal time is read from a watch when it is Ready at revision 1 (a watch sees every version, where polling could
 * miss a token that renewed between two polls); the moment its renewal fired is the controller's "issuing" log line
 * for revision 2, logged when the reconcile decides to rotate, before any call.
 */
export async function measureRenewals(o: {
  kc: KubeConfig;
  api: CredentialsApi;
  controller: ControllerProcess;
  ns: string;
  count: number;
  spec: Record<string, unknown>;
  concurrency: number;
  timeoutMs?: number;
  /** Processes to account CPU for while renewals fall due (cpuSnapshot). */
  pids?: Record<string, number>;
  /** The control plane's audit log of writes, to count the controller's writes per renewal. */
  auditEvents?: () => AuditEvent[];
}): Promise<RenewalFigures> {
  await setupNamespace(o.kc, o.api, o.ns);
  const due = new Map<string, number>();
  const watch = new Informer<RenewingToken>({
    kubeConfig: o.kc,
    path: `/apis/tokensync.io/v1alpha1/namespaces/${o.ns}/serviceaccounttokens`,
  });
  watch.onEvent((e) => {
    const t = e.object;
    const isReady = t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (e.type !== 'delete' && isReady && t.status?.revision === 1 && t.status.renewalTime)
      due.set(t.metadata.name, Date.parse(t.status.renewalTime));
  });
  await watch.start();
  try {
    const names = Array.from({ length: o.count }, (_, i) => `r-${i}`);
    await pool(names, o.concurrency, async (name) => {
      await apply(
        o.kc,
        `/apis/tokensync.io/v1alpha1/namespaces/${o.ns}/serviceaccounttokens/${name}`,
        satBody(o.ns, name, o.spec),
      );
    });
    await until(
      `${o.ns}: ${o.count} tokens Ready (${due.size} so far)`,
      async () => due.size >= o.count,
      o.timeoutMs ?? 900_000,
    );
  } finally {
    await watch.stop();
  }
  const allReadyAt = Date.now();
  const lastDue = Math.max(...due.values());
  const firstDue = Math.min(...due.values());
  let cpu: string | undefined;
  if (o.pids && firstDue > Date.now()) {
    await sleep(firstDue - Date.now());
    const before = await cpuSnapshot(o.pids);
    await sleep(Math.max(0, lastDue + 1000 - Date.now()));
    cpu = formatCpu(before, await cpuSnapshot(o.pids), lastDue + 1000 - firstDue);
  }
  await until(`${o.ns}: renewals fired`, async () => Date.now() > lastDue + 10_000, lastDue - Date.now() + 60_000);
  const fired = new Map<string, number>();
  for (const line of o.controller.output) {
    if (!line.includes('"msg":"issuing"') || !line.includes(`"namespace":"${o.ns}"`)) continue;
    const record = JSON.parse(line) as { time: string; name: string; revision: number };
    if (record.revision === 2 && !fired.has(record.name)) fired.set(record.name, Date.parse(record.time));
  }
  const writes = o.auditEvents ? writesPerRenewal(o.auditEvents(), o.ns, firstDue, o.count) : undefined;
  const perSecond = new Map<number, number>();
  for (const at of due.values()) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
  const deltasDueBeforeReady: number[] = [];
  const deltasDueAfterReady: number[] = [];
  for (const [name, at] of due) {
    const firedAt = fired.get(name);
    if (firedAt !== undefined)
      (at < allReadyAt ? deltasDueBeforeReady : deltasDueAfterReady).push(Math.abs(firedAt - at));
  }
  return {
    deltas: [...deltasDueBeforeReady, ...deltasDueAfterReady],
    deltasDueBeforeReady,
    deltasDueAfterReady,
    count: o.count,
    spreadMs: lastDue - firstDue,
    maxPerSecond: Math.max(...perSecond.values()),
    firstDueAfterReadyMs: firstDue - allReadyAt,
    ...(cpu ? { cpu } : {}),
    ...(writes ? { writes } : {}),
  };
}

/** "0.99 patch serviceaccounttokens, ..." for the writes to `ns` from `from` on, other than the bench's own. */
function writesPerRenewal(events: AuditEvent[], ns: string, from: number, count: number): string {
  const byKind = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.objectRef?.namespace !== ns || e.user.username === 'system:apiserver') continue;
    if (e.requestURI.includes('fieldManager=bench')) continue;
    if (Date.parse(String(e['requestReceivedTimestamp'] ?? e['stageTimestamp'])) < from - 1000) continue;
    const r = e.objectRef;
    const code = e.responseStatus?.code ?? 0;
    const kind = `${e.verb} ${r.resource ?? '?'}${r.subresource ? `/${r.subresource}` : ''}${code >= 300 ? ` (${code})` : ''}`;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    total++;
  }
  const parts = [...byKind].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${(n / count).toFixed(2)} ${k}`);
  return `${(total / count).toFixed(2)} per renewal (${parts.join(', ')})`;
}

/** One line of figures from measureRenewals. */
function formatRenewals(r: RenewalFigures, shape: string): string {
  return (
    `${r.deltas.length}/${r.count} fired; ${shape}; the first due ${(r.firstDueAfterReadyMs / 1000).toFixed(1)} s after all were Ready; ` +
    `renewal times spread over ${(r.spreadMs / 1000).toFixed(1)} s, at most ${r.maxPerSecond} due in one second: ` +
    `|fired − renewalTime| p50 ${percentile(r.deltas, 50).toFixed(0)} ms, p99 ${percentile(r.deltas, 99).toFixed(0)} ms, ` +
    `max ${Math.max(...r.deltas).toFixed(0)} ms (target p99 < 1000 ms)` +
    (r.deltasDueBeforeReady.length
      ? `; of them ${r.deltasDueBeforeReady.length} due before the batch was all Ready, competing with its issuance:` +
        ` p99 ${percentile(r.deltasDueBeforeReady, 99).toFixed(0)} ms; the ${r.deltasDueAfterReady.length} due after it` +
        ` p99 ${r.deltasDueAfterReady.length ? percentile(r.deltasDueAfterReady, 99).toFixed(0) : '-'} ms`
      : '') +
    (r.writes ? `; controller writes ${r.writes}` : '') +
    (r.cpu ? `; CPU while due: ${r.cpu}` : '')
  );
}

/**
 * The two shapes of renewal the benches measure, for `count` tokens whose issuance takes about `issueMs`: (a) as the
 * controller's jitter spreads them in production (it makes a renewal up to 5% of the lifetime earlier; with a lifetime
 * of at least 20 minutes, renewing at 10% of it, 1,000 tokens renew over about a minute); (b) dense, renewing at half
 * a lifetime just long enough that every token is Ready first, so that they fall due faster than the API server takes
 * them. The old token's revocation comes after the default grace period, outside the measured window.
 */
function renewalShapes(issueMs: number): Array<{ label: string; shape: string; spec: Record<string, unknown> }> {
  const dense = Math.max(60, Math.ceil((2 * (1.5 * issueMs + 20_000)) / 1000));
  const spread = Math.max(1200, Math.ceil((20 * (1.5 * issueMs + 20_000)) / 1000));
  return [
    {
      label: 'a',
      shape: `as the jitter spreads them: lifetime ${spread}s, renewing at 10% of it minus the jitter`,
      spec: { lifetime: `${spread}s`, renewBeforePercentage: 90 },
    },
    {
      label: 'b',
      shape: `dense: lifetime ${dense}s, renewing at half of it`,
      spec: { lifetime: `${dense}s`, renewBeforePercentage: 50 },
    },
  ];
}

/**
 * Phase `phase` of a bench: renewal punctuality of `count` tokens in each shape of renewalShapes (namespaces
 * renew-a, renew-b), one line of figures per shape.
 */
export async function renewalPunctuality(
  o: {
    kc: KubeConfig;
    api: CredentialsApi;
    controller: ControllerProcess;
    count: number;
    concurrency: number;
    /** About how long issuing `count` tokens takes, from the bench's own burst. */
    issueMs: number;
    /** Processes to account CPU for while renewals fall due. */
    pids?: Record<string, number>;
    auditEvents?: () => AuditEvent[];
  },
  phase: string,
  context = '',
): Promise<void> {
  // BENCH_RENEW_SHAPES=b measures the dense shape only (a 100,000 run that measured the other before).
  const only = process.env['BENCH_RENEW_SHAPES']?.split(',');
  for (const { label, shape, spec } of renewalShapes(o.issueMs)) {
    if (only && !only.includes(label)) continue;
    const figures = await measureRenewals({ ...o, ns: `renew-${label}`, spec });
    log(`${phase}${label}. renewal punctuality${context}: ${formatRenewals(figures, shape)}`);
  }
}
