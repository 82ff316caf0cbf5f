import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/controller/durations.ts';
import { renewalTime } from '../../../src/controller/schedule.ts';

const issued = new Date('2026-01-01T00:00:00Z');
const days = (n: number) => new Date(issued.getTime() + n * 86_400_000);

describe('renewal time', () => {
  it('defaults to two thirds of the lifetime (cert-manager), jitter only making it earlier', () => {
    expect(renewalTime({}, issued, days(30), 0)?.toISOString()).toBe(
      new Date(issued.getTime() + 0.67 * 30 * 86_400_000).toISOString(),
    );
    const jittered = renewalTime({}, issued, days(30), 0.999)!;
    expect(jittered.getTime()).toBeLessThan(issued.getTime() + 0.67 * 30 * 86_400_000);
    expect(issued.getTime() + 0.67 * 30 * 86_400_000 - jittered.getTime()).toBeLessThanOrEqual(5 * 60_000);
  });

  it('honours renewBefore and renewBeforePercentage', () => {
    expect(renewalTime({ renewBefore: '240h' }, issued, days(30), 0)).toEqual(days(20));
    expect(renewalTime({ renewBeforePercentage: 50 }, issued, days(30), 0)).toEqual(days(15));
  });

  it('never renews tokens that never expire unless rotation.every asks', () => {
    expect(renewalTime({}, issued, undefined, 0)).toBeUndefined();
    expect(renewalTime({ rotation: { every: '2160h' } }, issued, undefined, 0)).toEqual(days(90));
  });

  it('takes the earlier of expiry-based renewal and the rotation schedule', () => {
    expect(renewalTime({ rotation: { every: '24h' } }, issued, days(30), 0)).toEqual(days(1));
  });

  it('falls back to 2/3 of the granted lifetime when renewBefore does not fit in it (cert-manager)', () => {
    const hour = new Date(issued.getTime() + 3_600_000);
    expect(renewalTime({ renewBefore: '24h' }, issued, hour, 0)).toEqual(new Date(issued.getTime() + 2_400_000));
    expect(renewalTime({ renewBefore: '1h' }, issued, hour, 0)).toEqual(new Date(issued.getTime() + 2_400_000));
    expect(renewalTime({ renewBefore: '59m' }, issued, hour, 0)).toEqual(new Date(issued.getTime() + 60_000));
  });

  it('never renews sooner than 10 s after the issue, whatever the upstream lifetime (no mint loop)', () => {
    const sameInstant = new Date(issued.getTime());
    const twoSeconds = new Date(issued.getTime() + 2_000);
    expect(renewalTime({}, issued, sameInstant, 0)).toEqual(new Date(issued.getTime() + 10_000));
    expect(renewalTime({ renewBeforePercentage: 99 }, issued, twoSeconds, 0)).toEqual(
      new Date(issued.getTime() + 10_000),
    );
  });

  it('spreads a thousand tokens issued together over the jitter window', () => {
    const times = new Set(
      Array.from({ length: 1000 }, (_, i) => renewalTime({}, issued, days(30), i / 1000)!.getTime()),
    );
    expect(times.size).toBeGreaterThan(900);
  });
});

describe('durations', () => {
  it('parses Go-style durations and rejects anything else', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('0.5h')).toBe(1_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('10 minutes')).toThrow(/invalid duration/);
    expect(() => parseDuration('')).toThrow();
  });
});
