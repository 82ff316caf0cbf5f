// Weekly windows in IANA time zones, through Intl: local days and hours, daylight-saving gaps and overlaps, windows
// across midnight.
import { describe, expect, it } from 'vitest';
import {
  describeWindows,
  instantOf,
  inWindow,
  nextInWindow,
  offsetAt,
} from '../../../src/controller/renewal-windows.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const office = [
  { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] as const, start: '09:00', end: '17:00', timeZone: 'Europe/Berlin' },
].map((w) => ({ ...w, days: [...w.days] }));

describe('time zones through Intl', () => {
  it('knows offsets, daylight saving included, and half-hour zones', () => {
    expect(offsetAt(at('2026-01-15T12:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(offsetAt(at('2026-07-15T12:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(offsetAt(at('2026-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(19_800_000);
    expect(offsetAt(at('2026-07-15T12:00:00Z'), 'America/New_York')).toBe(-14_400_000);
  });

  it('maps a local time to its instant; a skipped time moves forward by the gap, a repeated one is its first', () => {
    expect(iso(instantOf(at('2026-07-15T09:00:00Z'), 'Europe/Berlin'))).toBe('2026-07-15T07:00:00.000Z');
    // 2026-03-29 02:30 does not exist in Berlin (02:00 -> 03:00): 03:30 CEST.
    expect(iso(instantOf(at('2026-03-29T02:30:00Z'), 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z');
    // 2026-10-25 02:30 happens twice in Berlin (03:00 -> 02:00): the first is 02:30 CEST.
    expect(iso(instantOf(at('2026-10-25T02:30:00Z'), 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
  });
});

describe('renewal windows', () => {
  it('Mon-Fri 09:00-17:00 Berlin: inside on a weekday afternoon, the next opening from a weekend', () => {
    expect(inWindow(office, at('2026-11-25T14:00:00Z'))).toBe(true); // Wed 15:00 CET
    expect(inWindow(office, at('2026-11-25T16:00:00Z'))).toBe(false); // Wed 17:00 CET: end is exclusive
    expect(inWindow(office, at('2026-11-25T07:59:59Z'))).toBe(false);
    // Saturday: Monday 09:00 CET.
    expect(nextInWindow(office, at('2026-11-28T10:00:00Z'))).toEqual({
      at: at('2026-11-30T08:00:00Z'),
      closes: at('2026-11-30T16:00:00Z'),
    });
    // In summer the same local hours are an hour earlier in UTC.
    expect(iso(nextInWindow(office, at('2026-07-04T10:00:00Z'))?.at)).toBe('2026-07-06T07:00:00.000Z');
  });

  it('opens on the first valid instant on a daylight-saving day', () => {
    const night = [{ start: '02:00', end: '04:00', timeZone: 'Europe/Berlin' }];
    // 2026-03-29: 02:00 CET does not exist; the window runs 03:00-04:00 CEST.
    expect(nextInWindow(night, at('2026-03-28T12:00:00Z'))).toEqual({
      at: at('2026-03-29T01:00:00Z'),
      closes: at('2026-03-29T02:00:00Z'),
    });
  });

  it('a window whose end is not after its start runs past midnight', () => {
    const overnight = [{ days: ['Fri' as const], start: '22:00', end: '06:00' }];
    expect(inWindow(overnight, at('2026-11-28T03:00:00Z'))).toBe(true); // Saturday 03:00 UTC, Friday's window
    expect(inWindow(overnight, at('2026-11-28T06:00:00Z'))).toBe(false);
    expect(iso(nextInWindow(overnight, at('2026-11-28T07:00:00Z'))?.at)).toBe('2026-12-04T22:00:00.000Z');
  });

  it('takes the earliest of several windows, in different time zones, and 24:00 as midnight', () => {
    const windows = [
      { days: ['Sat' as const], start: '10:00', end: '12:00', timeZone: 'America/New_York' },
      { days: ['Sat' as const], start: '20:00', end: '24:00', timeZone: 'Asia/Kolkata' },
    ];
    // Saturday 20:00 IST = 14:30 UTC comes before 10:00 EST = 15:00 UTC.
    expect(iso(nextInWindow(windows, at('2026-11-28T00:00:00Z'))?.at)).toBe('2026-11-28T14:30:00.000Z');
    expect(nextInWindow(windows, at('2026-11-28T14:30:00Z'))?.closes).toBe(at('2026-11-28T18:30:00Z'));
    expect(describeWindows(windows)).toBe('Sat 10:00-12:00 America/New_York; Sat 20:00-24:00 Asia/Kolkata');
  });

  it('every day when days is not given', () => {
    const daily = [{ start: '09:00', end: '10:00' }];
    expect(iso(nextInWindow(daily, at('2026-11-28T10:00:00Z'))?.at)).toBe('2026-11-29T09:00:00.000Z');
  });
});
