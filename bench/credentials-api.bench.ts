// Throughput and latency of the reference credentials API: mint+revoke pairs (what one rotation costs the
// server) against a GET /healthz baseline measured in the same run, so the figures mean something on any machine
// (the ratio travels; absolute numbers depend on the host). In-process, loopback only, bounded loops.
//
//   node bench/credentials-api.bench.ts          (BENCH_N=2000 by default)
import { Agent, request } from 'undici';
import { startCredentialsApi } from '../src/credentials-api/index.ts';

const N = Number(process.env['BENCH_N'] ?? 2000);
if (!Number.isInteger(N) || N < 1 || N > 1_000_000) {
  console.error(`BENCH_N must be an integer between 1 and 1000000, got ${process.env['BENCH_N']}`);
  process.exit(2);
}
const CONCURRENCY = 16;
const WARMUP = Math.min(200, Math.ceil(N / 10));

interface Run {
  elapsedMs: number;
  latencies: number[];
}

/** `count` tasks over CONCURRENCY workers; each latency is one task (a pair counts as one). */
async function pool(count: number, task: (i: number) => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { elapsedMs: performance.now() - started, latencies };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(run: Run) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  return {
    perSecond: (run.latencies.length / run.elapsedMs) * 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

const api = await startCredentialsApi({ rateLimit: false });
const agent = new Agent({ connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000 });
const auth = { authorization: `Bearer ${api.adminKey}` };
const tokens = `${api.url}/api/v1/auth/service-accounts/bench/tokens`;

async function expectStatus(promise: ReturnType<typeof request>, status: number, what: string) {
  const res = await promise;
  await res.body.dump();
  if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode}`);
}

const healthz = () => expectStatus(request(`${api.url}/healthz`, { dispatcher: agent }), 200, 'healthz');

async function pair(prefix: string, i: number) {
  const name = `${prefix}-${i}`;
  await expectStatus(
    request(tokens, {
      dispatcher: agent,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name, scopes: ['bench'], description: 'bench' }),
    }),
    201,
    'mint',
  );
  await expectStatus(
    request(`${tokens}/${name}`, { dispatcher: agent, method: 'DELETE', headers: auth }),
    204,
    'revoke',
  );
}

try {
  await pool(WARMUP, () => healthz());
  await pool(WARMUP, (i) => pair('warm', i));
  await expectStatus(
    request(`${api.url}/api/v1/audit/stats/reset`, { dispatcher: agent, method: 'POST', headers: auth }),
    204,
    'reset',
  );

  const baseline = summary(await pool(N, () => healthz()));
  const pairs = summary(await pool(N, (i) => pair('run', i)));

  // Sanity: the run did what it claims, and left nothing behind.
  const statsRes = await request(`${api.url}/api/v1/audit/stats`, { dispatcher: agent, headers: auth });
  const stats = (await statsRes.body.json()) as { mints: number; revokes: number };
  if (stats.mints !== N || stats.revokes !== N) throw new Error(`stats mismatch: ${JSON.stringify(stats)}`);

  const ms = (v: number) => `${v.toFixed(2)} ms`;
  console.log(`credentials-api bench: N=${N}, concurrency ${CONCURRENCY}, keep-alive, loopback, in-process`);
  console.log(
    `  mint+revoke pairs  ${pairs.perSecond.toFixed(0).padStart(7)} pairs/s  p50 ${ms(pairs.p50)}  p99 ${ms(pairs.p99)}`,
  );
  console.log(
    `  GET /healthz       ${baseline.perSecond.toFixed(0).padStart(7)} req/s    p50 ${ms(baseline.p50)}  p99 ${ms(baseline.p99)}`,
  );
  console.log(
    `  ratio pairs/s : healthz req/s = ${(pairs.perSecond / baseline.perSecond).toFixed(3)} (a pair is 2 requests; 0.5 = as cheap as healthz)`,
  );
} finally {
  await agent.close();
  await api.close();
}
