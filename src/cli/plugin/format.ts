// Pure formatting for `kubectl tokensync status`: no I/O, so every rule here is unit-tested.
import type { Condition, ServiceAccountToken } from '../../api/v1alpha1/index.ts';

const UNIT_NAMES = ['d', 'h', 'm', 's'];
const UNIT_SECONDS = [86_400, 3_600, 60, 1];

/** A duration as its two most significant units, like kubectl's ages: 3d4h, 3h12m, 3h, 12m5s, 45s, 0s (truncated). */
export function shortDuration(ms: number): string {
  let rest = Math.floor(Math.abs(ms) / 1000);
  const values = UNIT_SECONDS.map((size) => {
    const n = Math.floor(rest / size);
    rest -= n * size;
    return n;
  });
  const first = values.findIndex((n) => n > 0);
  if (first === -1) return '0s';
  let out = `${values[first]}${UNIT_NAMES[first]}`;
  if (first < 3 && values[first + 1]! > 0) out += `${values[first + 1]}${UNIT_NAMES[first + 1]}`;
  return out;
}

/** "in 3h12m" for the future, "5m ago" for the past. */
export function relativeTime(at: Date, now: Date): string {
  const delta = at.getTime() - now.getTime();
  return delta >= 0 ? `in ${shortDuration(delta)}` : `${shortDuration(delta)} ago`;
}

export type Severity = 'ok' | 'warning' | 'error';

export interface StatusRow {
  namespace: string;
  name: string;
  ready: string;
  secret: string;
  expires: string;
  renews: string;
  reason: string;
  severity: Severity;
}

export const WARN_WITHIN_MS = 24 * 3_600_000;

function readyCondition(sat: ServiceAccountToken): Condition | undefined {
  return sat.status?.conditions?.find((c) => c.type === 'Ready');
}

function parseTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** One table row per resource. Red (error): not Ready or expired. Yellow (warning): expires within 24h. */
export function statusRow(sat: ServiceAccountToken, now: Date): StatusRow {
  const ready = readyCondition(sat);
  const expiresAt = parseTime(sat.status?.expiresAt);
  const renewalTime = parseTime(sat.status?.renewalTime);
  const expired = expiresAt !== undefined && expiresAt.getTime() <= now.getTime();
  let severity: Severity = 'ok';
  if (ready?.status !== 'True' || expired) severity = 'error';
  else if (expiresAt && expiresAt.getTime() - now.getTime() < WARN_WITHIN_MS) severity = 'warning';
  let expires = '-';
  if (expiresAt) expires = expired ? `expired ${relativeTime(expiresAt, now)}` : relativeTime(expiresAt, now);
  else if (sat.status?.tokenId) expires = 'never';
  let renews = '-';
  if (renewalTime) {
    renews =
      renewalTime.getTime() < now.getTime()
        ? `overdue ${shortDuration(now.getTime() - renewalTime.getTime())}`
        : relativeTime(renewalTime, now);
  }
  return {
    namespace: sat.metadata.namespace ?? '',
    name: sat.metadata.name,
    ready: ready?.status ?? '-',
    secret: sat.status?.secretName ?? sat.spec.secret?.name ?? sat.metadata.name,
    expires,
    renews,
    reason: ready?.reason ?? (sat.metadata.deletionTimestamp ? 'Deleting' : '-'),
    severity,
  };
}

const COLOURS: Record<Severity, string | undefined> = { ok: undefined, warning: '\x1b[33m', error: '\x1b[31m' };
const RESET = '\x1b[0m';

/** Colour only on a terminal, and never when NO_COLOR is set to anything non-empty (no-color.org). */
export function useColour(isTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  return Boolean(isTTY) && !env['NO_COLOR'];
}

/** Left-aligned columns separated by 3 spaces, like kubectl get. Colour wraps a padded row, so columns stay aligned. */
export function renderTable(headers: string[], rows: string[][], severities: Severity[] = [], colour = false): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  const out = [line(headers)];
  rows.forEach((row, i) => {
    const text = line(row);
    const code = colour ? COLOURS[severities[i] ?? 'ok'] : undefined;
    out.push(code ? `${code}${text}${RESET}` : text);
  });
  return `${out.join('\n')}\n`;
}

export const STATUS_HEADERS = ['NAMESPACE', 'NAME', 'READY', 'SECRET', 'EXPIRES', 'RENEWS', 'REASON'];

/** The whole `status` output, sorted by namespace then name. */
export function renderStatus(sats: ServiceAccountToken[], now: Date, colour: boolean): string {
  const rows = sats
    .map((s) => statusRow(s, now))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return renderTable(
    STATUS_HEADERS,
    rows.map((r) => [r.namespace, r.name, r.ready, r.secret, r.expires, r.renews, r.reason]),
    rows.map((r) => r.severity),
    colour,
  );
}
