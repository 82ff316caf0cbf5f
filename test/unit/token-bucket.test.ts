import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { TokenBucket } from '../../src/token-bucket.ts';

describe('TokenBucket on the project clock', () => {
  it('reserve borrows from the future and says how long until the slot is due', () => {
    const clock = manualClock(0);
    const b = new TokenBucket({ requestsPerSecond: 10, burst: 2, clock });
    expect([b.reserve(), b.reserve()]).toEqual([0, 0]);
    expect(b.reserve()).toBeCloseTo(100);
    expect(b.reserve()).toBeCloseTo(200);
    // The debt is paid back by time: after 300 ms one token is free again.
    clock.advance(300);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
  });

  it('a wall clock stepped back neither refills the bucket nor freezes it', () => {
    const clock = manualClock(1_000_000);
    const b = new TokenBucket({ requestsPerSecond: 1, burst: 1, clock });
    expect(b.tryAcquire()).toBe(true);
    clock.set(0); // NTP step back by 1000 s
    expect(b.tryAcquire()).toBe(false);
    clock.advance(1000);
    expect(b.tryAcquire()).toBe(true);
  });
});
