// Memory and scale of `tokensync controller` (issue 11): RSS with N Ready tokens, after the create burst and after a
// restart, where it goes, restart catch-up and renewal punctuality, on the Go-built control plane and the reference
// credentials API. The controller runs as a child process from the compiled dist/cli/main.js with the image's Node
// flags, so its RSS is what a pod would show.
//   1. An idle controller (no tokens): RSS and its breakdown.
//   2. N tokens created at once (bounded client concurrency) → all Ready: time, RSS after the burst.
//   3. Restart with N Ready: upstream calls and API writes (target 0 and 0), time to caught up, RSS (target: at most
//      150 MB at 10,000, 600 MB at 100,000).
//   4. (N ≤ 20,000, or BENCH_VARIANTS=1) the same restart under other settings: what each Node or allocator knob
//      changes, and a heap snapshot of the restarted controller summarized by constructor.
//   5. Renewal punctuality: BENCH_RENEW_N tokens (default 1,000) created together, renewing together ~30 s later,
//      while the N others sit in the caches: p99 |fired − renewalTime|.
//
//   npx node bench/memory.bench.ts                     BENCH_N=10000 (default)
//   BENCH_N=100000 npx node bench/memory.bench.ts      the 100,000 run (about an hour on 2 cores)
//   BENCH_KEEP_SNAPSHOTS=<dir>                         keeps the heap snapshots it summarizes, for DevTools
// Prints figures; asserts nothing. Loopback only; every wait is bounded.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCredentialsApi } from '../src/credentials-api/index.ts';
import { Informer } from '../src/kube/informer.ts';
import { ControllerProcess } from '../test/integration/controller/process.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import {
  apply,
  auditWritesSince,
  buildDist,
  caughtUp,
  fileSize,
  formatMemory,
  log,
  MiB,
  memoryOf,
  percentile,
  pool,
  renewalPunctuality,
  satBody,
  setupNamespace,
  sleep,
  startAllocationSampling,
  summarizeSnapshot,
  until,
  upstreamStats,
  waitForSnapshot,
} from './support.ts';

const N_ASKED = Number(process.env['BENCH_N'] ?? 10_000);
/**
 * BENCH_DEADLINE (an ISO time): creation stops there, the tokens created so far are waited for, and the rest of the run
 * measures those. On a loaded 2-core machine 100,000 tokens may take longer than the time there is.
 */
const DEADLINE = process.env['BENCH_DEADLINE'] ? Date.parse(process.env['BENCH_DEADLINE']) : Number.POSITIVE_INFINITY;
/** Tokens created per batch; the next batch starts once half of the previous one is Ready (default: all at once). */
const BATCH = Number(process.env['BENCH_BATCH'] ?? N_ASKED);
/** The number of tokens the run measures: N_ASKED, or fewer if the deadline came first. */
let N = N_ASKED;
const RENEW_N = Number(process.env['BENCH_RENEW_N'] ?? 1000);
const VARIANTS = (process.env['BENCH_VARIANTS'] ?? (N_ASKED <= 20_000 ? '1' : '0')) === '1';
const CLIENT_CONCURRENCY = Number(process.env['BENCH_CLIENT_CONCURRENCY'] ?? 16);
const WORKERS = process.env['BENCH_WORKERS'] ?? '16';
/** Node flags for every controller of the run (to try a setting on the burst, e.g. --max-semi-space-size=8). */
const EXTRA_NODE_ARGS = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
/** Minutes allowed for the burst to become Ready (a loaded 2-core machine manages 10 tokens/s): 3 per 1,000, at least 30. */
const READY_TIMEOUT_MS = Math.max(30, (3 * N_ASKED) / 1000) * 60_000;

log(
  `memory bench: N=${N_ASKED}${BATCH < N_ASKED ? ` in batches of ${BATCH}` : ''}` +
    `${Number.isFinite(DEADLINE) ? ` (creation stops at ${new Date(DEADLINE).toISOString()})` : ''}, renewals=${RENEW_N}, client concurrency ${CLIENT_CONCURRENCY}, ${WORKERS} workers` +
    (EXTRA_NODE_ARGS.length ? `, node ${EXTRA_NODE_ARGS.join(' ')}` : ''),
);
const buildStart = performance.now();
const entry = process.env['BENCH_ENTRY'] ?? buildDist();
log(`controller entry ${entry} (built in ${((performance.now() - buildStart) / 1000).toFixed(1)} s)`);

const cp = await startControlPlane({ auditWrites: true, etcdQuotaBytes: 8 * 1024 ** 3 });
const api = await startCredentialsApi({ rateLimit: false });
const kc = cp.kubeConfig;
const running = new Set<ControllerProcess>();

/** A controller as the image starts it (its V8 flags, compiled JavaScript), plus extra Node settings. */
function startController(
  options: { env?: Record<string, string>; entry?: string; nodeArgs?: string[] } = {},
): ControllerProcess {
  const c = new ControllerProcess(
    cp.kubeconfigPath,
    ['--max-concurrent-reconciles', WORKERS, '--log-level', 'info'],
    options.env ?? {},
    { entry: options.entry ?? entry, nodeArgs: [...EXTRA_NODE_ARGS, ...(options.nodeArgs ?? [])] },
  );
  running.add(c);
  return c;
}

async function stop(c: ControllerProcess): Promise<void> {
  await c.kill('SIGTERM');
  running.delete(c);
}

/** Starts a controller on the N Ready tokens and waits until it has reconciled them all; returns the timings. */
async function restart(options: Parameters<typeof startController>[0] = {}) {
  const started = performance.now();
  const c = startController(options);
  await c.synced(300_000);
  const syncedMs = performance.now() - started;
  await until('caught up', () => caughtUp(c, N), Math.max(300_000, N * 20));
  const caughtUpMs = performance.now() - started;
  await sleep(3000);
  return { c, syncedMs, caughtUpMs };
}

/** Has the controller (started with --heapsnapshot-signal=SIGUSR2) write a heap snapshot, and prints its summary. */
async function heapSummary(c: ControllerProcess, dir: string, when: string): Promise<void> {
  c.child.kill('SIGUSR2');
  const file = await waitForSnapshot(dir, 300_000);
  const summary = await summarizeSnapshot(file);
  // BENCH_KEEP_SNAPSHOTS=<dir> keeps each snapshot for a closer look (Chrome DevTools' Memory tab opens them).
  const keep = process.env['BENCH_KEEP_SNAPSHOTS'];
  if (keep) copyFileSync(file, join(keep, `${when.replaceAll(' ', '-')}-${N}.heapsnapshot`));
  rmSync(file);
  log(`   heap snapshot ${when}: ${(summary.total / MiB).toFixed(1)} MiB of live objects; largest groups (self size):`);
  for (const [key, size, count] of summary.groups)
    log(`     ${(size / MiB).toFixed(1).padStart(6)} MiB  ${String(count).padStart(8)}×  ${key}`);
}

/** Ends the run early (a phase switched off), still through the cleanup. */
class Finished extends Error {}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

try {
  // The controller keeps its Secret-hash key in its own namespace (docs/decisions/0013).
  await apply(kc, '/api/v1/namespaces/tokensync-system', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'tokensync-system' },
  });
  // 1. Idle. SIGUSR2 makes the controller write a heap snapshot (used after the burst, at most 20,000 tokens).
  const snapshotDir = mkdtempSync(join(tmpdir(), 'tokensync-heap-'));
  // BENCH_ALLOC_PROFILE=1: sample every allocation during the burst (inspector on loopback) and print where it goes.
  const allocProfile = process.env['BENCH_ALLOC_PROFILE'] === '1';
  let controller = startController({
    env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}` },
    ...(allocProfile ? { nodeArgs: ['--inspect=127.0.0.1:0'] } : {}),
  });
  await controller.synced();
  await sleep(3000);
  log(`1. idle controller, no tokens: ${formatMemory(await memoryOf(controller))}`);

  // 2. The burst.
  await setupNamespace(kc, api, 'bench');
  const readyAt = new Map<string, number>();
  // Ready times come from the bench's own watch, trimmed to what it needs (100,000 full objects would cost the
  // benchmark process gigabytes, and listing in a loop would load the API server more than the controller does).
  type Seen = { metadata: { name: string; namespace: string; resourceVersion: string }; ready: boolean };
  const watcher = new Informer<Seen>({
    kubeConfig: kc,
    path: '/apis/tokensync.io/v1alpha1/namespaces/bench/serviceaccounttokens',
    transform: (o: {
      metadata: Seen['metadata'];
      status?: { conditions?: Array<{ type: string; status: string }> };
    }) => ({
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, resourceVersion: o.metadata.resourceVersion },
      ready: o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    }),
  });
  watcher.onEvent((e) => {
    if (e.type !== 'delete' && e.object.ready && !readyAt.has(e.object.metadata.name))
      readyAt.set(e.object.metadata.name, performance.now());
  });
  await watcher.start();
  const stopSampling = allocProfile ? await startAllocationSampling(controller.output) : undefined;
  const created = new Map<string, number>();
  const start = performance.now();
  const names = Array.from({ length: N_ASKED }, (_, i) => `t-${i}`);
  let stoppedAt: number | undefined;
  const creating = (async () => {
    for (let from = 0; from < N_ASKED; from += BATCH) {
      // Batches: the next one once at most half a batch is still waiting to be Ready.
      await until('the previous batch', async () => created.size - readyAt.size <= BATCH / 2, READY_TIMEOUT_MS);
      if (Date.now() >= DEADLINE) {
        stoppedAt = created.size;
        return;
      }
      await pool(names.slice(from, from + BATCH), CLIENT_CONCURRENCY, async (name) => {
        await apply(
          kc,
          `/apis/tokensync.io/v1alpha1/namespaces/bench/serviceaccounttokens/${name}`,
          satBody('bench', name, { lifetime: '720h', rotation: { gracePeriod: '1s' } }),
        );
        created.set(name, performance.now());
      });
    }
  })();
  let createdAllMs = 0;
  void creating.then(() => {
    createdAllMs = performance.now() - start;
  });
  const step = N_ASKED >= 50_000 ? 10_000 : N_ASKED / 10;
  let reported = 0;
  await until(
    `${N_ASKED} Ready`,
    async () => {
      if (readyAt.size >= reported + step) {
        reported += step;
        const m = await memoryOf(controller);
        log(
          `   ${readyAt.size} Ready after ${s(performance.now() - start)} (${created.size} created), ` +
            `RSS ${m.rss.toFixed(0)} MiB, heap used ${m.heapUsed.toFixed(0)} MiB`,
        );
      }
      return readyAt.size >= (stoppedAt ?? N_ASKED);
    },
    READY_TIMEOUT_MS,
  );
  if (stoppedAt !== undefined) {
    N = stoppedAt;
    log(`   the deadline came first: creation stopped at ${N} tokens; the rest of the run measures those`);
  }
  await creating;
  const burstMs = performance.now() - start;
  if (stopSampling) {
    const { total, top } = await stopSampling();
    log(
      `   allocated during the burst: ${(total / MiB).toFixed(0)} MiB (${(total / N / 1024).toFixed(0)} KiB per token); largest:`,
    );
    for (const [key, size] of top) log(`     ${(size / MiB).toFixed(1).padStart(7)} MiB  ${key}`);
  }
  await watcher.stop();
  const latencies = [...readyAt].map(([name, at]) => at - (created.get(name) ?? start));
  log(
    `2. ${N} created ${BATCH < N_ASKED ? `in batches of ${BATCH}` : 'at once'} (${CLIENT_CONCURRENCY} clients; all created after ${s(createdAllMs)}) → all Ready in ${s(burstMs)} ` +
      `(${(N / (burstMs / 1000)).toFixed(0)} tokens/s); create→Ready p50 ${s(percentile(latencies, 50))}, p99 ${s(percentile(latencies, 99))}`,
  );
  await sleep(5000);
  log(`   after the burst (+5 s): ${formatMemory(await memoryOf(controller))}`);
  // V8's memory reducer and glibc give pages back only once the process is idle for a while.
  await sleep(55_000);
  log(`   after the burst, idle for a minute: ${formatMemory(await memoryOf(controller))}`);
  if (N <= 20_000) await heapSummary(controller, snapshotDir, 'after the burst');
  rmSync(snapshotDir, { recursive: true, force: true });

  // 3. Restart.
  await stop(controller);
  const auditOffset = await fileSize(cp.auditLogPath);
  const before = await upstreamStats(api);
  const restarted = await restart();
  controller = restarted.c;
  await sleep(2000);
  const after = await upstreamStats(api);
  const writes = cp.auditLogPath ? await auditWritesSince(cp.auditLogPath, auditOffset) : new Map<string, number>();
  const writeCount = [...writes.values()].reduce((a, b) => a + b, 0);
  log(
    `3. restart with ${N} Ready: caches synced in ${s(restarted.syncedMs)}, caught up in ${s(restarted.caughtUpMs)}; ` +
      `upstream calls ${after.requests - before.requests} (mints ${after.mints - before.mints}, revokes ${after.revokes - before.revokes}), ` +
      `API writes ${writeCount}${writeCount ? ` (${[...writes].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} (target 0 and 0)`,
  );
  const restartedMemory = await memoryOf(controller);
  const target = N > 10_000 ? 600 : 150;
  log(
    `   after the restart: ${formatMemory(restartedMemory)}; ` +
      `${((restartedMemory.rss * MiB) / 1e6).toFixed(0)} MB against ${target} MB`,
  );

  // 4. What each knob changes (restarts only: a burst per setting would take an hour).
  if (VARIANTS) {
    await stop(controller);
    const variants: Array<[string, Parameters<typeof startController>[0]]> = [
      [
        'image settings (--max-semi-space-size=2 --optimize-for-size, MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_=16384)',
        {},
      ],
      ['without MALLOC_ARENA_MAX=2 (glibc default arenas)', { env: { MALLOC_ARENA_MAX: '0' } }],
      // glibc's default: blocks above a threshold that adapts upwards from 128 KiB get a mapping of their own (given
      // back when freed); smaller ones come from an arena, which keeps freed memory. (Node leaves out undefined.)
      [
        'without MALLOC_MMAP_THRESHOLD_ (glibc default)',
        { env: { MALLOC_MMAP_THRESHOLD_: undefined as unknown as string } },
      ],
      ['with MALLOC_MMAP_THRESHOLD_=65536', { env: { MALLOC_MMAP_THRESHOLD_: '65536' } }],
      ['without --optimize-for-size', { nodeArgs: ['--no-optimize-for-size'] }],
      [
        'TypeScript source (src/cli/main.ts, type stripping)',
        { entry: join(import.meta.dirname, '../src/cli/main.ts') },
      ],
      // BENCH_BEFORE=path/to/dist/cli/main.js: an earlier build (e.g. `git archive <commit> src tsconfig*.json`
      // compiled under .tokensync/), for a before/after figure from the same run.
      ...(process.env['BENCH_BEFORE']
        ? [['earlier build (BENCH_BEFORE)', { entry: process.env['BENCH_BEFORE'] }] as [string, { entry: string }]]
        : []),
    ];
    log(`4. restarts with ${N} Ready under other settings (RSS after catching up):`);
    for (const [label, options] of variants) {
      try {
        const r = await restart(options);
        log(`   ${label}: caught up in ${s(r.caughtUpMs)}; ${formatMemory(await memoryOf(r.c))}`);
        await stop(r.c);
      } catch (error) {
        log(`   ${label}: failed: ${(error as Error).message}`);
      }
    }
    // A heap snapshot of a restarted controller, summarized (self sizes by constructor / node type).
    const dir = mkdtempSync(join(tmpdir(), 'tokensync-heap-'));
    try {
      const r = await restart({ env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` } });
      await heapSummary(r.c, dir, 'after the restart');
      // Writing a snapshot leaves hundreds of MiB of native memory behind (610 MiB RSS at 10,000): phase 5 gets a
      // fresh controller.
      await stop(r.c);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!running.has(controller)) controller = (await restart()).c;

  // 5. Renewal punctuality with the N tokens in the caches (BENCH_RENEW_N=0 skips it), in the two shapes of
  // bench/support.ts renewalShapes: as the jitter spreads them, and dense.
  if (RENEW_N === 0) throw new Finished();
  await renewalPunctuality(
    {
      kc,
      api,
      controller,
      count: RENEW_N,
      concurrency: CLIENT_CONCURRENCY,
      issueMs: RENEW_N * (burstMs / N),
      // CPU per process while renewals fall due. Not the audit log: at 100,000 it is too large to read whole.
      pids: { ...cp.pids(), controller: controller.child.pid! },
    },
    `5`,
    ` with ${N} other tokens cached`,
  );
  log(`   controller at the end: ${formatMemory(await memoryOf(controller))}`);
} catch (error) {
  if (!(error instanceof Finished)) throw error;
} finally {
  await Promise.all([...running].map((c) => c.kill('SIGTERM')));
  await api.close();
  await cp.stop();
}
