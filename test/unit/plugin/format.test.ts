import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import {
  relativeTime,
  renderStatus,
  renderTable,
  shortDuration,
  statusRow,
  useColour,
} from '../../../src/cli/plugin/format.ts';

const now = new Date('2025-06-01T12:00:00Z');
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs).toISOString();
const H = 3_600_000;

function sat(name: string, status: ServiceAccountToken['status'], namespace = 'team-a'): ServiceAccountToken {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { name, namespace, uid: '0a1b2c3d-0000-0000-0000-000000000000' },
    spec: { providerRef: { kind: 'CredentialsProvider', name: 'p' }, readOnly: false, deletionPolicy: 'Revoke' },
    ...(status ? { status } : {}),
  } as ServiceAccountToken;
}

const ready = (status: 'True' | 'False' | 'Unknown', reason = 'Issued') => [
  { type: 'Ready', status, reason, message: '', lastTransitionTime: now.toISOString() },
];

describe('shortDuration', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [45_000, '45s'],
    [12 * 60_000 + 5_000, '12m5s'],
    [3 * H + 12 * 60_000 + 59_000, '3h12m'],
    [3 * H, '3h'],
    [3 * H + 5_000, '3h'],
    [4 * 24 * H + 3 * H, '4d3h'],
    [400 * 24 * H, '400d'],
    [-(90 * 60_000), '1h30m'],
  ])('%d ms -> %s', (ms, text) => expect(shortDuration(ms)).toBe(text));
});

describe('relativeTime', () => {
  it('says "in" for the future and "ago" for the past', () => {
    expect(relativeTime(new Date(now.getTime() + 3 * H + 12 * 60_000), now)).toBe('in 3h12m');
    expect(relativeTime(new Date(now.getTime() - 5 * 60_000), now)).toBe('5m ago');
  });
});

describe('statusRow', () => {
  it('a Ready token far from expiry is ok', () => {
    const row = statusRow(
      sat('a', {
        conditions: ready('True'),
        secretName: 'a-secret',
        expiresAt: at(30 * 24 * H),
        renewalTime: at(20 * 24 * H),
        tokenId: 't1',
      }),
      now,
    );
    expect(row).toEqual({
      namespace: 'team-a',
      name: 'a',
      ready: 'True',
      secret: 'a-secret',
      expires: 'in 30d',
      renews: 'in 20d',
      reason: 'Issued',
      severity: 'ok',
    });
  });

  it('warns when a Ready token expires within 24h', () => {
    const row = statusRow(sat('a', { conditions: ready('True'), expiresAt: at(23 * H), renewalTime: at(H) }), now);
    expect(row.severity).toBe('warning');
    expect(row.expires).toBe('in 23h');
  });

  it('is an error when expired, even if still marked Ready', () => {
    const row = statusRow(sat('a', { conditions: ready('True'), expiresAt: at(-10 * 60_000) }), now);
    expect(row.severity).toBe('error');
    expect(row.expires).toBe('expired 10m ago');
  });

  it('is an error when not Ready, and shows the reason', () => {
    const row = statusRow(sat('a', { conditions: ready('False', 'UpstreamError'), expiresAt: at(30 * 24 * H) }), now);
    expect(row.severity).toBe('error');
    expect(row.reason).toBe('UpstreamError');
  });

  it('a resource without status yet: dashes, Secret name from the spec default, error (not Ready)', () => {
    const row = statusRow(sat('fresh', undefined), now);
    expect(row).toMatchObject({
      ready: '-',
      secret: 'fresh',
      expires: '-',
      renews: '-',
      reason: '-',
      severity: 'error',
    });
  });

  it('never-expiring tokens say never; an overdue renewal says overdue', () => {
    const row = statusRow(sat('a', { conditions: ready('True'), tokenId: 't', renewalTime: at(-2 * H) }), now);
    expect(row.expires).toBe('never');
    expect(row.renews).toBe('overdue 2h');
    expect(row.severity).toBe('ok');
  });
});

describe('useColour', () => {
  it('only on a TTY without NO_COLOR', () => {
    expect(useColour(true, {})).toBe(true);
    expect(useColour(false, {})).toBe(false);
    expect(useColour(undefined, {})).toBe(false);
    expect(useColour(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColour(true, { NO_COLOR: '' })).toBe(true);
  });
});

describe('renderTable and renderStatus', () => {
  it('aligns columns with three spaces and no trailing blanks', () => {
    expect(
      renderTable(
        ['A', 'LONGER'],
        [
          ['xxxx', 'y'],
          ['z', ''],
        ],
      ),
    ).toBe('A      LONGER\nxxxx   y\nz\n');
  });

  it('colours whole rows only when asked, keeping alignment', () => {
    const plain = renderTable(['A', 'B'], [['1', '2']], ['error'], false);
    const coloured = renderTable(['A', 'B'], [['1', '2']], ['error'], true);
    expect(plain).not.toContain('\x1b');
    expect(coloured).toBe('A   B\n\x1b[31m1   2\x1b[0m\n');
    expect(renderTable(['A'], [['1']], ['warning'], true)).toContain('\x1b[33m1\x1b[0m');
    expect(renderTable(['A'], [['1']], ['ok'], true)).toBe('A\n1\n');
  });

  it('sorts by namespace then name, with the documented headers', () => {
    const out = renderStatus(
      [
        sat('b', { conditions: ready('True') }, 'z'),
        sat('b', { conditions: ready('True') }, 'a'),
        sat('a', { conditions: ready('True') }, 'z'),
      ],
      now,
      false,
    );
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+SECRET\s+EXPIRES\s+RENEWS\s+REASON$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join('/'))).toEqual(['a/b', 'z/a', 'z/b']);
  });
});
