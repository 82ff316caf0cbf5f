import { describe, expect, it } from 'vitest';
import { dateOf, manualClock } from '../../../src/clock.ts';
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

describe('renewal time with renewal windows', () => {
  // Weekdays 09:00-17:00 in Berlin (CET, UTC+1, in November).
  const office = {
    renewal: {
      windows: [
        { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] as const, start: '09:00', end: '17:00', timeZone: 'Europe/Berlin' },
      ].map((w) => ({ ...w, days: [...w.days] })),
    },
  };
  const t = (iso: string) => new Date(iso);

  it('keeps a renewal that falls due inside a window', () => {
    // Issued Wednesday 10:00 CET, renewed 20 days later: Tuesday 2026-12-15 10:00 CET.
    const spec = { renewBefore: '240h' };
    const issuedAt = t('2026-11-25T09:00:00Z');
    const expiresAt = t('2026-12-25T09:00:00Z');
    expect(renewalTime({ ...spec, ...office }, issuedAt, expiresAt, 0)?.toISOString()).toBe('2026-12-15T09:00:00.000Z');
    expect(renewalTime({ ...spec, ...office }, issuedAt, expiresAt, 0.5)).toEqual(
      renewalTime(spec, issuedAt, expiresAt, 0.5),
    );
  });

  it('moves a renewal due on a weekend to Monday 09:00 in the window’s time zone', () => {
    // Issued Thursday 2026-11-26 12:00 UTC; both tokens below fall due Saturday 2026-11-28 12:00 UTC.
    const issuedAt = t('2026-11-26T12:00:00Z');
    const expiresAt = t('2026-11-30T12:00:00Z'); // 4 days, renewBefore 48h
    const longer = t('2026-12-05T12:00:00Z'); // 9 days, renewBefore 168h
    expect(renewalTime({ renewBefore: '48h' }, issuedAt, expiresAt, 0)?.toISOString()).toBe(
      '2026-11-28T12:00:00.000Z', // without windows: Saturday
    );
    // With them: no window opens before the deadline (1/6 of the lifetime before expiry, Sunday 21:00 CET).
    expect(renewalTime({ ...office, renewBefore: '48h' }, issuedAt, expiresAt, 0)?.toISOString()).toBe(
      '2026-11-29T20:00:00.000Z',
    );
    const spec = { ...office, renewBefore: '168h' };
    // The 9-day token's deadline is 2026-12-04 00:00 UTC: Monday 09:00 CET fits.
    expect(renewalTime(spec, issuedAt, longer, 0)?.toISOString()).toBe('2026-11-30T08:00:00.000Z');
  });

  it('spreads renewals moved to one opening over at most 5 minutes', () => {
    const issuedAt = t('2026-11-26T12:00:00Z');
    const expiresAt = t('2026-12-05T12:00:00Z');
    const spec = { ...office, renewBefore: '168h' };
    const times = Array.from({ length: 100 }, (_, i) => renewalTime(spec, issuedAt, expiresAt, i / 100)!.getTime());
    expect(Math.min(...times)).toBe(Date.parse('2026-11-30T08:00:00Z'));
    expect(Math.max(...times)).toBeLessThan(Date.parse('2026-11-30T08:05:00Z'));
    expect(new Set(times).size).toBe(100);
  });

  it('renews outside the windows rather than let a token expire: at the deadline, 1/6 of the lifetime before expiry', () => {
    // A 24h token issued Friday 12:00 CET: due Saturday 03:00 CET; no window before Saturday 08:00 CET (the deadline).
    const issuedAt = t('2026-11-27T11:00:00Z');
    const expiresAt = t('2026-11-28T11:00:00Z');
    expect(renewalTime(office, issuedAt, expiresAt, 0)?.toISOString()).toBe('2026-11-28T07:00:00.000Z');
  });

  it('never moves a renewal earlier, even when renewBefore leaves less than the deadline’s margin', () => {
    const issuedAt = t('2026-11-27T11:00:00Z');
    const expiresAt = t('2026-11-28T11:00:00Z');
    expect(renewalTime({ ...office, renewBefore: '1h' }, issuedAt, expiresAt, 0)?.toISOString()).toBe(
      '2026-11-28T10:00:00.000Z',
    );
  });

  it('a token that never expires waits for the window however far it is (rotation.every)', () => {
    const issuedAt = t('2026-11-27T16:30:00Z'); // Friday 17:30 CET
    const weekend = { ...office, rotation: { every: '1h' } };
    expect(renewalTime(weekend, issuedAt, undefined, 0)?.toISOString()).toBe('2026-11-30T08:00:00.000Z');
  });

  it('places from the injected clock’s now when the due time has passed (windows changed on a live token)', () => {
    const clock = manualClock(Date.parse('2026-11-30T15:59:00Z')); // Monday 16:59 CET, inside the window
    const spec = { ...office, renewBefore: '240h' };
    const issuedAt = t('2026-11-10T12:00:00Z');
    const expiresAt = t('2026-12-10T12:00:00Z'); // due Monday 2026-11-30 12:00 UTC: passed
    expect(renewalTime(spec, issuedAt, expiresAt, 0, dateOf(clock))?.toISOString()).toBe('2026-11-30T15:59:00.000Z');
    clock.advance(2 * 60_000); // 17:01: closed; the next opening is Tuesday 09:00
    expect(renewalTime(spec, issuedAt, expiresAt, 0, dateOf(clock))?.toISOString()).toBe('2026-12-01T08:00:00.000Z');
  });
});
