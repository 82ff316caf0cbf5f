import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket, TokenBucketRegistry } from '../../../src/providers/rate-limiter.ts';

describe('TokenBucket', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const bucket = (requestsPerSecond: number, burst: number) => new TokenBucket({ requestsPerSecond, burst });

  it('grants the burst at once and then nothing until time passes', () => {
    const b = bucket(2, 3);
    expect([b.tryAcquire(), b.tryAcquire(), b.tryAcquire(), b.tryAcquire()]).toEqual([true, true, true, false]);
    vi.advanceTimersByTime(499);
    expect(b.tryAcquire()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(b.tryAcquire()).toBe(true);
  });

  it('never grants more than burst + rate·t calls in any elapsed time t', async () => {
    const rate = 5;
    const burst = 4;
    const b = bucket(rate, burst);
    const grants: number[] = [];
    const all = Array.from({ length: 40 }, () => b.acquire().then(() => grants.push(Date.now())));
    for (let t = 0; t < 10_000 && grants.length < 40; t += 7) {
      await vi.advanceTimersByTimeAsync(7);
    }
    await Promise.all(all);
    expect(grants).toHaveLength(40);
    // Check every window [grants[i], grants[j]]: j - i + 1 calls within (grants[j] - grants[i]) ms.
    for (let i = 0; i < grants.length; i++) {
      for (let j = i; j < grants.length; j++) {
        const t = (grants[j]! - grants[i]!) / 1000;
        expect(j - i + 1).toBeLessThanOrEqual(burst + rate * t + 1e-9);
      }
    }
    // And the whole run took at least (40 - burst) / rate seconds.
    expect(grants.at(-1)!).toBeGreaterThanOrEqual(((40 - burst) / rate) * 1000);
  });

  it('serves waiters in FIFO order and tryAcquire does not jump the queue', async () => {
    const b = bucket(10, 1);
    expect(b.tryAcquire()).toBe(true);
    const order: number[] = [];
    const p1 = b.acquire().then(() => order.push(1));
    const p2 = b.acquire().then(() => order.push(2));
    const p3 = b.acquire().then(() => order.push(3));
    vi.advanceTimersByTime(100);
    expect(b.tryAcquire()).toBe(false); // a token may be free, but waiters come first
    await vi.advanceTimersByTimeAsync(300);
    await Promise.all([p1, p2, p3]);
    expect(order).toEqual([1, 2, 3]);
  });

  it('an aborted waiter rejects with the signal reason and frees its place', async () => {
    const b = bucket(1, 1);
    b.tryAcquire();
    const controller = new AbortController();
    const aborted = b.acquire(controller.signal);
    const next = b.acquire();
    expect(b.pending).toBe(2);
    controller.abort(new Error('shutdown'));
    await expect(aborted).rejects.toThrow('shutdown');
    expect(b.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(next).resolves.toBeUndefined();
    // The aborted waiter took no token: the next second yields exactly one more.
    expect(b.tryAcquire()).toBe(false);
  });

  it('an already-aborted signal rejects immediately without taking a token', async () => {
    const b = bucket(1, 1);
    await expect(b.acquire(AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(b.tryAcquire()).toBe(true);
  });

  it('rejects nonsensical limits', () => {
    expect(() => bucket(0, 1)).toThrow(RangeError);
    expect(() => bucket(1, 0)).toThrow(RangeError);
  });
});

describe('TokenBucketRegistry', () => {
  it('shares one bucket per provider key and replaces it when limits change', () => {
    const r = new TokenBucketRegistry();
    const a = r.get('ns/p', { requestsPerSecond: 5, burst: 10 });
    expect(r.get('ns/p', { requestsPerSecond: 5, burst: 10 })).toBe(a);
    expect(r.get('ns/q', { requestsPerSecond: 5, burst: 10 })).not.toBe(a);
    expect(r.get('ns/p', { requestsPerSecond: 1, burst: 10 })).not.toBe(a);
  });
});
