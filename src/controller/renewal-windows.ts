// Weekly renewal windows in a time zone (spec.renewal.windows), computed with Intl only: the runtime's own time-zone
// database, no dependency. Pure functions of instants (ms since the epoch).
import type { RenewalWindow, Weekday } from '../api/v1alpha1/index.ts';

const DAY_MS = 86_400_000;
const WEEKDAYS: Weekday[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A window as the spec gives it; timeZone defaults to UTC. */
export type WindowSpec = Omit<RenewalWindow, 'timeZone'> & { timeZone?: string | undefined };

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock time in `timeZone` at `instant`, as if it were UTC (so date arithmetic is plain UTC arithmetic). */
function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return Date.UTC(
    parts['year']!,
    parts['month']! - 1,
    parts['day']!,
    parts['hour']!,
    parts['minute']!,
    parts['second']!,
  );
}

/** Offset of `timeZone` from UTC at `instant`, in ms (Europe/Berlin in summer: +7,200,000). */
export function offsetAt(instant: number, timeZone: string): number {
  return wallClock(instant, timeZone) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `timeZone` shows `wall` (a wall-clock time written as UTC). A time that
 * occurs twice (clocks turned back) is its first occurrence; a time that does not occur (clocks turned forward) is
 * moved forward by the gap, as java.time and Temporal do: 02:30 on the spring-forward day in Berlin is 03:30.
 */
export function instantOf(wall: number, timeZone: string): number {
  const offsets = [...new Set([offsetAt(wall - DAY_MS, timeZone), offsetAt(wall + DAY_MS, timeZone)])];
  const valid = offsets.map((o) => wall - o).filter((t) => offsetAt(t, timeZone) === wall - t);
  return valid.length ? Math.min(...valid) : wall - Math.min(...offsets);
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The window's occurrences that could contain or follow `instant`: each [start, end) from the day before on. */
function* occurrences(window: WindowSpec, instant: number, days: number): Generator<[number, number]> {
  const timeZone = window.timeZone ?? 'UTC';
  const today = Math.floor(wallClock(instant, timeZone) / DAY_MS) * DAY_MS; // local midnight, as UTC
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const overnight = end <= start;
  for (let d = -1; d <= days; d++) {
    const date = today + d * DAY_MS;
    if (window.days && !window.days.includes(WEEKDAYS[new Date(date).getUTCDay()]!)) continue;
    const opens = instantOf(date + start * 60_000, timeZone);
    const closes = instantOf(date + (overnight ? DAY_MS : 0) + end * 60_000, timeZone);
    if (closes > opens) yield [opens, closes];
  }
}

/**
 * The first instant at or after `instant` inside one of the windows, and when that window closes. Every window opens
 * at least once a week, so the search is bounded (8 days).
 */
export function nextInWindow(windows: WindowSpec[], instant: number): { at: number; closes: number } | undefined {
  let best: { at: number; closes: number } | undefined;
  for (const window of windows) {
    for (const [opens, closes] of occurrences(window, instant, 8)) {
      if (closes <= instant) continue;
      const at = Math.max(opens, instant);
      if (!best || at < best.at || (at === best.at && closes > best.closes)) best = { at, closes };
    }
  }
  return best;
}

/** Whether `instant` lies inside one of the windows. */
export function inWindow(windows: WindowSpec[], instant: number): boolean {
  return nextInWindow(windows, instant)?.at === instant;
}

/** "Mon-Fri 09:00-17:00 Europe/Berlin; Sat 10:00-12:00 UTC", for messages. */
export function describeWindows(windows: WindowSpec[]): string {
  return windows
    .map((w) => `${w.days ? w.days.join(',') : 'daily'} ${w.start}-${w.end} ${w.timeZone ?? 'UTC'}`)
    .join('; ');
}
