// Work queue throughput: 100,000 adds (10% of them duplicates of keys still waiting) plus 10,000 addAfter keys,
// drained by 4 async workers. The baseline is the cheapest thing that could work — a plain array + Set with the
// same workers — measured in the same run, so the ratio says what the client-go semantics (processing set, re-add
// while in flight, one-timer delay heap) cost on this machine.
//
//   npx node bench/workqueue.bench.ts
// Measured on the shared 2-core dev box: adds ~1.7M ops/s (0.40x the bare array+Set, the price of the processing
// set); addAfter ~560k ops/s (1.3x the timer-per-key baseline).
import { WorkQueue } from '../src/kube/workqueue.ts';

const ADDS = 100_000;
const DUPLICATE_FRACTION = 0.1;
const DELAYED = 10_000;
const WORKERS = 4;

interface Queue {
  add(key: string): void;
  addAfter(key: string, ms: number): void;
  get(): Promise<string | undefined>;
  done(key: string): void;
  shutDown(): void;
}

/** Baseline: FIFO array + dirty Set; no processing set, one setTimeout per delayed key. */
class ArraySetQueue implements Queue {
  #queue: string[] = [];
  #head = 0;
  #dirty = new Set<string>();
  #waiters: Array<(k: string | undefined) => void> = [];
  #closed = false;
  add(key: string): void {
    if (this.#closed || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    const w = this.#waiters.shift();
    if (w) {
      this.#dirty.delete(key);
      w(key);
    } else this.#queue.push(key);
  }
  addAfter(key: string, ms: number): void {
    setTimeout(() => this.add(key), ms);
  }
  get(): Promise<string | undefined> {
    if (this.#head < this.#queue.length) {
      const key = this.#queue[this.#head++]!;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      this.#dirty.delete(key);
      return Promise.resolve(key);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((r) => this.#waiters.push(r));
  }
  done(_key: string): void {}
  shutDown(): void {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}

/** Deterministic key stream: ~10% of adds repeat a recent key (likely still waiting, so it collapses). */
function keys(): string[] {
  const out: string[] = [];
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  let next = 0;
  for (let i = 0; i < ADDS; i++) {
    if (i > 100 && rand() < DUPLICATE_FRACTION) out.push(`ns/obj-${next - 1 - Math.floor(rand() * 50)}`);
    else out.push(`ns/obj-${next++}`);
  }
  return out;
}

interface Result {
  /** Phase 1: 100,000 adds fed in chunks, until every queued key was processed. */
  addMs: number;
  addOps: number;
  /** Phase 2: 10,000 addAfter with delays of 1..10 ms, until all processed; includes the 10 ms wait. */
  delayedMs: number;
  delayedOps: number;
  processed: number;
}

async function run(q: Queue, stream: string[]): Promise<Result> {
  let processed = 0;
  let delayedSeen = 0;
  let idle: (() => void) | undefined;
  const worker = async () => {
    for (;;) {
      const key = await q.get();
      if (key === undefined) return;
      processed++;
      if (key.startsWith('delayed/')) delayedSeen++;
      q.done(key);
      if (idle) idle();
    }
  };
  const workers = Array.from({ length: WORKERS }, worker);

  const t0 = performance.now();
  // Feed in chunks, yielding between them so workers interleave with producers as in a real controller.
  for (let i = 0; i < stream.length; i += 1000) {
    for (let j = i; j < Math.min(i + 1000, stream.length); j++) q.add(stream[j]!);
    await new Promise((r) => setImmediate(r));
  }
  // Drain: wait until a macrotask passes with nothing processed.
  for (let last = -1; last !== processed; ) {
    last = processed;
    await new Promise((r) => setImmediate(r));
  }
  const addMs = performance.now() - t0;

  const t1 = performance.now();
  for (let i = 0; i < DELAYED; i++) q.addAfter(`delayed/${i}`, 1 + (i % 10));
  await new Promise<void>((resolve) => {
    idle = () => {
      if (delayedSeen >= DELAYED) resolve();
    };
  });
  const delayedMs = performance.now() - t1;
  q.shutDown();
  await Promise.all(workers);
  return {
    addMs,
    addOps: stream.length / (addMs / 1000),
    delayedMs,
    delayedOps: DELAYED / (delayedMs / 1000),
    processed,
  };
}

const stream = keys();
// Warm-up both so the JIT does not favour whichever runs second.
await run(new WorkQueue({ name: 'warmup' }), stream.slice(0, 20_000));
await run(new ArraySetQueue(), stream.slice(0, 20_000));

const results: Array<Result & { name: string }> = [];
for (let round = 0; round < 3; round++) {
  results.push({ name: 'WorkQueue', ...(await run(new WorkQueue({ name: 'bench' }), stream)) });
  results.push({ name: 'array+Set', ...(await run(new ArraySetQueue(), stream)) });
}
const best = (name: string, field: 'addOps' | 'delayedOps') =>
  Math.max(...results.filter((r) => r.name === name).map((r) => r[field]));
const fmt = (n: number) => Math.round(n).toLocaleString('en');

const wqAdd = best('WorkQueue', 'addOps');
const baseAdd = best('array+Set', 'addOps');
const wqDelayed = best('WorkQueue', 'delayedOps');
const baseDelayed = best('array+Set', 'delayedOps');
console.log(
  `workqueue bench: ${ADDS} adds (${DUPLICATE_FRACTION * 100}% duplicates) + ${DELAYED} addAfter (1-10 ms), ${WORKERS} workers; best of 3`,
);
console.log(
  `  adds     WorkQueue ${fmt(wqAdd)} ops/s | array+Set ${fmt(baseAdd)} ops/s | ratio ${(wqAdd / baseAdd).toFixed(2)}`,
);
console.log(
  `  addAfter WorkQueue ${fmt(wqDelayed)} ops/s (one timer) | array+Set ${fmt(baseDelayed)} ops/s (timer per key) | ratio ${(wqDelayed / baseDelayed).toFixed(2)}`,
);
console.log(`  processed per run: WorkQueue ${results[0]!.processed}, array+Set ${results[1]!.processed}`);
