// Scrape cost of the per-token metrics at 10,000 and 100,000 ServiceAccountTokens: series count, exposition size
// (plain and gzip, as Prometheus asks for it), wall time of one render, the longest time the event loop was blocked
// during it (what a reconcile waiting for I/O would wait), and the heap the series hold.
//
// Baseline, measured in the same run: the previous design — prom-client gauges with five series per token (the
// True/False/Unknown ready triple plus two timestamps) rendered by registry.metrics() in one synchronous call.
// Compared: the current Metrics (one ready series per token + two timestamps, aggregates, rendered in chunks that
// yield to the event loop), with --token-metrics=all and with =unhealthy (1% of tokens not Ready). Also: heap growth
// over 5 more scrapes (the previous design kept ~33 MiB more per 100,000 tokens after them).
//
//   npx node bench/metrics.bench.ts [N ...]
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { Gauge, Registry } from 'prom-client';
import { Metrics } from '../src/observability/metrics.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const COUNTS = sizes.length ? sizes : [10_000, 100_000];
const NOW = Date.now();
const NAMESPACES = 100;
const PROVIDERS_PER_NAMESPACE = 2;

interface Token {
  namespace: string;
  name: string;
  provider: string;
  ready: 'True' | 'False';
  reason: string;
  expiresAt: Date;
  renewalTime: Date;
}

function tokens(n: number): Token[] {
  return Array.from({ length: n }, (_, i) => {
    const namespace = `team-${i % NAMESPACES}`;
    const broken = i % 100 === 0;
    return {
      namespace,
      name: `app-token-${i}`,
      provider: `${namespace}/provider-${i % PROVIDERS_PER_NAMESPACE}`,
      ready: broken ? 'False' : 'True',
      reason: broken ? 'UpstreamError' : 'Issued',
      expiresAt: new Date(NOW + 30 * 86_400_000 + i * 1000),
      renewalTime: new Date(NOW + 20 * 86_400_000 + i * 1000),
    };
  });
}

/** The previous implementation, kept here as the baseline. */
function baselineRegistry(list: Token[]): { render(): AsyncIterable<string> } {
  const registry = new Registry();
  const labelNames = ['namespace', 'name'];
  const expiration = new Gauge({ name: 'e_seconds', help: 'h', labelNames, registers: [registry] });
  const renewal = new Gauge({ name: 'r_seconds', help: 'h', labelNames, registers: [registry] });
  const ready = new Gauge({
    name: 'ready',
    help: 'h',
    labelNames: [...labelNames, 'condition'],
    registers: [registry],
  });
  for (const t of list) {
    const labels = { namespace: t.namespace, name: t.name };
    expiration.set(labels, t.expiresAt.getTime() / 1000);
    renewal.set(labels, t.renewalTime.getTime() / 1000);
    for (const condition of ['True', 'False', 'Unknown'])
      ready.set({ ...labels, condition }, condition === t.ready ? 1 : 0);
  }
  return {
    async *render() {
      yield await registry.metrics();
    },
  };
}

function current(list: Token[], mode: 'all' | 'unhealthy'): { render(): AsyncIterable<string> } {
  const metrics = new Metrics({ processMetrics: false, tokenSeries: mode });
  for (const t of list) metrics.observeToken(t);
  return metrics;
}

interface Figures {
  series: number;
  bytes: number;
  gzipBytes: number;
  renderMs: number;
  maxBlockMs: number;
  heapMiB: number;
  /** Heap growth over 5 more scrapes, after a full GC: whether renders leave garbage that survives. */
  heapGrowthMiB: number;
}

/** The longest gap between ticks of a 1 ms interval timer: how long the event loop was blocked at most. */
function blockMeter(): { stop(): number } {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, performance.now() - last);
    },
  };
}

async function measure(build: () => { render(): AsyncIterable<string> }): Promise<Figures> {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const source = build();
  gc();
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  // Size and gzip size from one render (not timed), then a timed render that consumes chunks like the server does
  // (counted and dropped, not kept).
  const chunks: string[] = [];
  for await (const chunk of source.render()) chunks.push(chunk);
  const text = chunks.join('');
  chunks.length = 0;
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const bytes = Buffer.byteLength(text);
  const gzipBytes = gzipSync(text, { level: 1 }).length;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const meter = blockMeter();
  const started = performance.now();
  let seen = 0;
  for await (const chunk of source.render()) seen += chunk.length;
  const renderMs = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 5));
  const maxBlockMs = meter.stop();
  if (seen === 0) throw new Error('empty render');
  gc();
  const heapAfterOne = process.memoryUsage().heapUsed;
  for (let i = 0; i < 5; i++) for await (const chunk of source.render()) seen += chunk.length;
  gc();
  const heapGrowthMiB = (process.memoryUsage().heapUsed - heapAfterOne) / 2 ** 20;
  return { series, bytes, gzipBytes, renderMs, maxBlockMs, heapMiB, heapGrowthMiB };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const row = (label: string, f: Figures, base?: Figures) =>
  `| ${label} | ${f.series.toLocaleString('en')} | ${mb(f.bytes)} | ${mb(f.gzipBytes)} | ${f.renderMs.toFixed(0)} ms | ` +
  `${f.maxBlockMs.toFixed(0)} ms | ${f.heapMiB.toFixed(1)} MiB | ${f.heapGrowthMiB.toFixed(1)} MiB |` +
  (base
    ? ` ${(f.series / base.series).toFixed(2)}x series, ${(f.bytes / base.bytes).toFixed(2)}x size, ` +
      `${(f.maxBlockMs / base.maxBlockMs).toFixed(2)}x longest block |`
    : ' baseline |');

for (const n of COUNTS) {
  const list = tokens(n);
  console.log(`\nN = ${n.toLocaleString('en')} tokens (${NAMESPACES} namespaces, 1% not Ready)`);
  console.log('| design | series | scrape | gzip | render | longest block | heap | heap +5 scrapes | vs baseline |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const base = await measure(() => baselineRegistry(list));
  console.log(row('baseline: prom-client, 5 series per token', base));
  const all = await measure(() => current(list, 'all'));
  console.log(row('--token-metrics=all', all, base));
  const unhealthy = await measure(() => current(list, 'unhealthy'));
  console.log(row('--token-metrics=unhealthy', unhealthy, base));
}
