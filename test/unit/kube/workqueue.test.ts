import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BucketRateLimiter,
  type Clock,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
  LOW_LANE_TURN,
  MaxOfRateLimiter,
  WorkQueue,
} from '../../../src/kube/workqueue.ts';

/** Resolves to the key if the queue hands one out by the end of the current macrotask, else 'pending'. */
async function peek(q: WorkQueue): Promise<string | undefined | 'pending'> {
  return Promise.race([q.get(), new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
}

describe('WorkQueue basics', () => {
  it('collapses repeated adds of a waiting key into one', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('hands out keys in FIFO order', async () => {
    const q = new WorkQueue();
    for (const k of ['c', 'a', 'b']) q.add(k);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'a', 'b']);
  });

  it('never gives a key to a second worker while the first is processing it', async () => {
    const q = new WorkQueue();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    // 'a' is in flight: a second worker must not receive it.
    const second = q.get();
    let got: string | undefined | null = null;
    void second.then((k) => {
      got = k;
    });
    await new Promise((r) => setImmediate(r));
    expect(got).toBeNull();
    expect(q.len()).toBe(0);
    q.done('a');
    expect(await second).toBe('a');
  });

  it('re-queues a key that was added while processing when done is called', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    q.add('a'); // still one pending re-run, not two
    expect(q.len()).toBe(0);
    q.done(k!);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(await peek(q)).toBe('pending');
  });

  it('does not re-queue a processed key that was not re-added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.done((await q.get())!);
    expect(q.len()).toBe(0);
    expect(await peek(q)).toBe('pending');
  });

  it('wakes a waiting worker when a key is added', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
  });

  it('serializes each key across concurrent workers while processing distinct keys in parallel', async () => {
    const q = new WorkQueue();
    const active = new Map<string, number>();
    let maxPerKey = 0;
    let maxParallel = 0;
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        active.set(key, (active.get(key) ?? 0) + 1);
        maxPerKey = Math.max(maxPerKey, active.get(key)!);
        maxParallel = Math.max(
          maxParallel,
          [...active.values()].reduce((a, b) => a + b, 0),
        );
        await new Promise((r) => setImmediate(r));
        // Adding the key we are working on must not start a parallel run of it.
        if (processed % 3 === 0) q.add(key);
        active.set(key, active.get(key)! - 1);
        processed++;
        q.done(key);
      }
    };
    for (let i = 0; i < 50; i++) q.add(`k${i % 5}`);
    const workers = [worker(), worker(), worker(), worker()];
    while (q.len() > 0 || processed < 5) await new Promise((r) => setImmediate(r));
    await q.shutDownWithDrain();
    await Promise.all(workers);
    expect(maxPerKey).toBe(1);
    expect(maxParallel).toBeGreaterThan(1);
  });
});

describe('WorkQueue addAfter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('adds a key only once its delay has passed', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(999);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('releases delayed keys in due order regardless of insertion order', async () => {
    const q = new WorkQueue();
    q.addAfter('late', 300);
    q.addAfter('early', 100);
    q.addAfter('middle', 200);
    await vi.advanceTimersByTimeAsync(300);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['early', 'middle', 'late']);
  });

  it('keeps the earliest time when a waiting key is scheduled again', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 5000);
    q.addAfter('a', 100); // earlier wins
    q.addAfter('a', 9000); // later is ignored
    expect(q.waitingLen()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    // The superseded 5000 ms entry must not fire a second time.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(q.len()).toBe(0);
  });

  it('adds immediately when the delay is zero or negative', () => {
    const q = new WorkQueue();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
  });

  it('uses a single timer for many delayed keys', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 10_000; i++) q.addAfter(`k${i}`, 1000 + (i % 997));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(q.len()).toBe(10_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms for an earlier key scheduled after a later one', async () => {
    const q = new WorkQueue();
    q.addAfter('later', 10_000);
    q.addAfter('sooner', 50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await q.get()).toBe('sooner');
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(9950);
    expect(await q.get()).toBe('later');
  });

  it('honours an injected clock', () => {
    let now = 0;
    const timers: Array<{ fn: () => void; at: number }> = [];
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => {
        const t = { fn, at: now + ms };
        timers.push(t);
        return t;
      },
      clearTimeout: (h) => {
        const i = timers.indexOf(h as (typeof timers)[number]);
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const q = new WorkQueue({ clock });
    q.addAfter('a', 500);
    expect(timers).toHaveLength(1);
    now = 500;
    timers.shift()!.fn();
    expect(q.len()).toBe(1);
  });
});

describe('rate limiters', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('doubles the per-key backoff on each failure up to the cap', () => {
    const rl = new ItemExponentialRateLimiter({ baseMs: 5, maxMs: 1000 });
    const delays = Array.from({ length: 10 }, () => rl.when('a'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(rl.numRequeues('a')).toBe(10);
    expect(rl.when('b')).toBe(5); // per key
  });

  it('resets the backoff on forget', () => {
    const rl = new ItemExponentialRateLimiter();
    rl.when('a');
    rl.when('a');
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
  });

  it('stays finite and capped after very many failures', () => {
    const rl = new ItemExponentialRateLimiter();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = rl.when('a');
    expect(last).toBe(1_000_000);
  });

  it('spreads backoff by the jitter fraction with the shared backoff (src/backoff.ts)', () => {
    const high = new ItemExponentialRateLimiter({ baseMs: 100, maxMs: 150, jitter: 0.5, random: () => 0.99 });
    const low = new ItemExponentialRateLimiter({ baseMs: 100, maxMs: 150, jitter: 0.5, random: () => 0 });
    // Uniform in [1-f, 1+f] times the exact delay: 100 · (0.5 + 0.99) and 100 · 0.5.
    expect(high.when('a')).toBeCloseTo(149);
    expect(low.when('a')).toBeCloseTo(50);
    // Capped at max before the spread, as backoffDelay does for every caller.
    expect(high.when('a')).toBeCloseTo(150 * 1.49);
    expect(low.when('a')).toBeCloseTo(75);
  });

  it('lets a burst through and then spaces calls at the bucket rate', () => {
    const rl = new BucketRateLimiter({ qps: 10, burst: 3 });
    expect([rl.when('a'), rl.when('b'), rl.when('c')]).toEqual([0, 0, 0]);
    expect(rl.when('d')).toBeCloseTo(100);
    expect(rl.when('e')).toBeCloseTo(200);
    vi.advanceTimersByTime(1000);
    expect(rl.when('f')).toBe(0);
  });

  it('takes the longest delay of its limiters', () => {
    const rl = new MaxOfRateLimiter(
      new ItemExponentialRateLimiter({ baseMs: 1 }),
      new BucketRateLimiter({ qps: 1, burst: 1 }),
    );
    expect(rl.when('a')).toBe(1);
    expect(rl.when('a')).toBeCloseTo(1000);
    expect(rl.numRequeues('a')).toBe(2);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
  });

  it('defaults to 5 ms per-item backoff under a 10 qps / 100 burst bucket', () => {
    const rl = defaultControllerRateLimiter();
    expect(rl.when('a')).toBe(5);
    expect(rl.when('a')).toBe(10);
    for (let i = 0; i < 98; i++) rl.when(`k${i}`);
    // 101st reservation overall: the bucket is empty, so 100 ms beats the item's 5 ms.
    expect(rl.when('z')).toBeCloseTo(100);
  });
});

describe('WorkQueue rate-limited requeue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts each rate-limited requeue until the key is forgotten', async () => {
    const retries: number[] = [];
    const q = new WorkQueue({
      rateLimiter: new ItemExponentialRateLimiter({ baseMs: 100, maxMs: 10_000 }),
      metrics: { onRetry: () => retries.push(1) },
    });
    for (let i = 0; i < 3; i++) {
      q.addRateLimited('a');
      await vi.advanceTimersByTimeAsync(1000);
      q.done((await q.get())!);
    }
    expect(q.numRequeues('a')).toBe(3);
    expect(retries).toHaveLength(3);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('delays each retry by the limiter backoff', async () => {
    const q = new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter({ baseMs: 100, maxMs: 10_000 }) });
    const gaps: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.addRateLimited('a');
      let waited = 0;
      while (q.len() === 0) {
        await vi.advanceTimersByTimeAsync(10);
        waited += 10;
      }
      gaps.push(waited);
      q.done((await q.get())!);
    }
    expect(gaps).toEqual([100, 200, 400, 800]);
    q.forget('a');
    q.addRateLimited('a');
    await vi.advanceTimersByTimeAsync(100);
    expect(q.len()).toBe(1);
  });
});

describe('WorkQueue shutdown', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('wakes idle workers with undefined and ignores later adds', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(q.shuttingDown).toBe(true);
    q.add('a');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('drops delayed keys and their timer on shutdown', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    q.shutDown();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2000);
    expect(q.len()).toBe(0);
  });

  it('still hands out keys queued before shutdown, then undefined', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.shutDown();
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBeUndefined();
  });

  it('waits for in-flight keys before a draining shutdown resolves', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    const a = await q.get();
    const b = await q.get();
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => {
      drained = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(false);
    q.done(a!);
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(false);
    q.done(b!);
    await drain;
    expect(drained).toBe(true);
  });

  it('resolves a draining shutdown at once when nothing is in flight', async () => {
    const q = new WorkQueue();
    await expect(q.shutDownWithDrain()).resolves.toBeUndefined();
  });
});

describe('WorkQueue metrics', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports adds, depth, queue latency and work duration', async () => {
    const adds: number[] = [];
    const depths: number[] = [];
    const latencies: number[] = [];
    const durations: number[] = [];
    const q = new WorkQueue({
      metrics: {
        onAdd: () => adds.push(1),
        onDepth: (n) => depths.push(n),
        onLatency: (ms) => latencies.push(ms),
        onWorkDuration: (ms) => durations.push(ms),
      },
    });
    q.add('a');
    q.add('a');
    q.add('b');
    await vi.advanceTimersByTimeAsync(30);
    const k = await q.get();
    await vi.advanceTimersByTimeAsync(70);
    q.done(k!);
    expect(adds).toHaveLength(2);
    expect(depths).toEqual([1, 2, 1]);
    expect(latencies).toEqual([30]);
    expect(durations).toEqual([70]);
  });
});

describe('WorkQueue admission, drop and whenIdle (sharding)', () => {
  it('refuses keys the admit function refuses, now and when their delay ends', async () => {
    vi.useFakeTimers();
    try {
      const allowed = new Set(['a']);
      const q = new WorkQueue({ admit: (k) => allowed.has(k) });
      q.add('b');
      q.add('a');
      q.addAfter('b', 10);
      expect(q.len()).toBe(1);
      expect(q.waitingLen()).toBe(0);
      allowed.add('c');
      q.addAfter('c', 10);
      allowed.delete('c');
      await vi.advanceTimersByTimeAsync(20);
      // Only 'a' is queued: 'c' was no longer admitted when its delay ended.
      expect(q.len()).toBe(1);
      expect(await q.get()).toBe('a');
      expect(q.len()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('drops queued, delayed and re-added keys that match, and keeps the rest', async () => {
    const q = new WorkQueue();
    q.add('x/1');
    q.add('y/1');
    q.add('x/2');
    q.addAfter('x/3', 60_000);
    q.addAfter('y/3', 60_000);
    const inFlight = await q.get(); // x/1
    q.add('x/1'); // re-added while in flight: would come back after done
    q.drop((k) => k.startsWith('x/'));
    expect(q.len()).toBe(1);
    expect(q.waitingLen()).toBe(1);
    q.done(inFlight!);
    expect(await q.get()).toBe('y/1');
    expect(await peek(q)).toBe('pending');
    q.shutDown();
  });

  it('whenIdle resolves once no matching key is in flight', async () => {
    const q = new WorkQueue();
    q.add('x/1');
    q.add('y/1');
    const a = (await q.get())!;
    const b = (await q.get())!;
    let idle = false;
    const waiting = q
      .whenIdle((k) => k.startsWith('x/'))
      .then(() => {
        idle = true;
      });
    q.done(b);
    await Promise.resolve();
    expect(idle).toBe(false);
    q.done(a);
    await waiting;
    expect(idle).toBe(true);
    await q.whenIdle(() => true); // nothing in flight: at once
  });
});

describe('WorkQueue fairness and priority', () => {
  const drain = async (q: WorkQueue, n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = (await q.get())!;
      out.push(k);
      q.done(k);
    }
    return out;
  };

  it('serves namespaces round-robin, so a quiet namespace waits one turn, not behind a busy one', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 1000; i++) q.add(`busy/t-${i}`);
    q.add('quiet/t-0');
    q.add('other/t-0');
    q.add('other/t-1');
    expect(await drain(q, 5)).toEqual(['busy/t-0', 'quiet/t-0', 'other/t-0', 'busy/t-1', 'other/t-1']);
    expect(q.len()).toBe(998);
  });

  it('keeps FIFO order within one namespace', async () => {
    const q = new WorkQueue();
    for (const k of ['ns/c', 'ns/a', 'ns/b']) q.add(k);
    expect(await drain(q, 3)).toEqual(['ns/c', 'ns/a', 'ns/b']);
  });

  it('hands out new or changed keys before resync keys queued earlier', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 100; i++) q.add(`ns/old-${i}`, 'low');
    q.add('ns/new');
    expect(q.lenAt('high')).toBe(1);
    expect(q.lenAt('low')).toBe(100);
    expect(await drain(q, 2)).toEqual(['ns/new', 'ns/old-0']);
  });

  it('gives the low lane one turn in LOW_LANE_TURN while new keys keep coming, so a retry is not starved', async () => {
    const q = new WorkQueue();
    q.add('quiet/retry', 'low');
    for (let i = 0; i < 100; i++) q.add(`busy/t-${i}`);
    const out = await drain(q, LOW_LANE_TURN);
    expect(out.slice(0, LOW_LANE_TURN - 1)).toEqual(Array.from({ length: LOW_LANE_TURN - 1 }, (_, i) => `busy/t-${i}`));
    expect(out[LOW_LANE_TURN - 1]).toBe('quiet/retry');
    // With the low lane empty, its turn goes to the next lane in order.
    expect(await drain(q, LOW_LANE_TURN)).toEqual(
      Array.from({ length: LOW_LANE_TURN }, (_, i) => `busy/t-${i + LOW_LANE_TURN - 1}`),
    );
  });

  it('moves a waiting low key to the high lane without queueing it twice', async () => {
    const q = new WorkQueue();
    q.add('ns/a', 'low');
    q.add('ns/b', 'low');
    q.add('ns/b'); // an event for b arrives while its resync is queued
    expect(q.len()).toBe(2);
    expect(await drain(q, 2)).toEqual(['ns/b', 'ns/a']);
    expect(await peek(q)).toBe('pending'); // the superseded low entry of b is not handed out
  });

  it('does not lower a waiting key when a resync adds it again', async () => {
    const q = new WorkQueue();
    q.add('ns/a', 'low');
    q.add('ns/b');
    q.add('ns/b', 'low');
    expect(await drain(q, 2)).toEqual(['ns/b', 'ns/a']);
  });

  it('re-queues a key re-added while in flight at the highest priority it was added with', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    const k = (await q.get())!;
    q.add('ns/x', 'low');
    q.add('ns/a', 'low');
    q.add('ns/a'); // still one pending re-run, now high
    expect(await peek(q)).toBe('ns/x'); // a is in flight: never handed out twice
    q.done('ns/x');
    q.add('ns/y', 'low');
    q.done(k);
    expect(q.len()).toBe(2);
    expect(await drain(q, 2)).toEqual(['ns/a', 'ns/y']);
  });

  it('serves low keys when no high key waits, and hands one to a waiting worker directly', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('ns/a', 'low');
    expect(await waiting).toBe('ns/a');
  });
});

describe('WorkQueue priority of timers and retries', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('puts a due timer in the due lane and a rate-limited retry in the low lane', async () => {
    const q = new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter({ baseMs: 100, maxMs: 1000 }) });
    q.addRateLimited('ns/failed');
    q.addAfter('ns/renewal', 100);
    await vi.advanceTimersByTimeAsync(100);
    expect(q.lenAt('due')).toBe(1);
    expect(q.lenAt('low')).toBe(1);
    expect(await q.get()).toBe('ns/renewal');
  });

  it('hands out a renewal that falls due during a burst of creates before the creates queued ahead of it', async () => {
    const q = new WorkQueue();
    q.addAfter('ns/renewing', 1000);
    for (let i = 0; i < 500; i++) q.add(`ns/new-${i}`);
    await vi.advanceTimersByTimeAsync(1000);
    expect(q.lenAt('due')).toBe(1);
    expect(q.lenAt('high')).toBe(500);
    expect(await q.get()).toBe('ns/renewing');
    expect(await q.get()).toBe('ns/new-0');
  });

  it('keeps the earlier time and the higher priority when a waiting key is scheduled again', async () => {
    const q = new WorkQueue();
    q.addAfter('ns/a', 100, 'low');
    q.addAfter('ns/a', 500, 'high'); // later: the time stays 100 ms, the priority rises
    q.addAfter('ns/b', 50, 'low');
    await vi.advanceTimersByTimeAsync(100);
    expect(q.lenAt('high')).toBe(1);
    expect(q.lenAt('low')).toBe(1);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
  });
});
