// The metrics the controller exports: one ready series per token carrying its reason, aggregates by namespace and
// provider, a render that yields to the event loop, and an exposition that promtool accepts.
import { describe, expect, it } from 'vitest';
import { type Clock, realClock } from '../../../src/clock.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { escapeLabelValue, TokenSeries } from '../../../src/observability/token-series.ts';
import { findPrometheusTools, promtool } from '../../support/prometheus-tools.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const clock: Clock = { ...realClock, now: () => NOW };
const at = (offsetSeconds: number) => new Date(NOW + offsetSeconds * 1000);

async function text(series: TokenSeries, now = new Date(NOW)): Promise<string> {
  let out = '';
  for await (const chunk of series.render(now)) out += chunk;
  return out;
}

const samples = (exposition: string, family: string) =>
  exposition.split('\n').filter((l) => l.startsWith(`${family}{`) || l.startsWith(`${family} `));

describe('per-token series', () => {
  it('exports one ready series per token, 1 when Ready, 0 otherwise, with its reason and provider', async () => {
    const s = new TokenSeries();
    s.observe({ namespace: 'a', name: 't', provider: 'a/ref', ready: 'True', reason: 'Issued' });
    s.observe({ namespace: 'b', name: 't', provider: 'cluster/ref', ready: 'False', reason: 'UpstreamError' });
    s.observe({ namespace: 'c', name: 't', ready: 'Unknown', reason: '' });
    const out = await text(s);
    expect(samples(out, 'tokensync_token_ready')).toEqual([
      'tokensync_token_ready{namespace="a",name="t",provider="a/ref",reason="Issued"} 1',
      'tokensync_token_ready{namespace="b",name="t",provider="cluster/ref",reason="UpstreamError"} 0',
      'tokensync_token_ready{namespace="c",name="t",provider="",reason="Unknown"} 0',
    ]);
  });

  it('replaces the series when the reason changes instead of adding one', async () => {
    const s = new TokenSeries();
    s.observe({ namespace: 'a', name: 't', provider: 'a/ref', ready: 'True', reason: 'Issued' });
    s.observe({ namespace: 'a', name: 't', provider: 'a/ref', ready: 'False', reason: 'Expired' });
    const out = await text(s);
    expect(samples(out, 'tokensync_token_ready')).toEqual([
      'tokensync_token_ready{namespace="a",name="t",provider="a/ref",reason="Expired"} 0',
    ]);
    expect(samples(out, 'tokensync_tokens')).toEqual([
      'tokensync_tokens{namespace="a",provider="a/ref",ready="False",reason="Expired"} 1',
    ]);
  });

  it('exports expiry and renewal timestamps in seconds, and drops them when the status loses them', async () => {
    const s = new TokenSeries();
    s.observe({ namespace: 'a', name: 't', ready: 'True', reason: 'Issued', expiresAt: at(3600), renewalTime: at(60) });
    let out = await text(s);
    expect(samples(out, 'tokensync_token_expiration_timestamp_seconds')).toEqual([
      `tokensync_token_expiration_timestamp_seconds{namespace="a",name="t"} ${NOW / 1000 + 3600}`,
    ]);
    expect(samples(out, 'tokensync_token_renewal_timestamp_seconds')).toEqual([
      `tokensync_token_renewal_timestamp_seconds{namespace="a",name="t"} ${NOW / 1000 + 60}`,
    ]);
    s.observe({ namespace: 'a', name: 't', ready: 'True', reason: 'Passthrough' });
    out = await text(s);
    expect(samples(out, 'tokensync_token_expiration_timestamp_seconds')).toEqual([]);
    expect(samples(out, 'tokensync_token_renewal_timestamp_seconds')).toEqual([]);
  });

  it('forgets every series and count of a deleted token', async () => {
    const s = new TokenSeries();
    s.observe({ namespace: 'a', name: 't', provider: 'a/ref', ready: 'True', reason: 'Issued', expiresAt: at(9) });
    s.forget('a', 't');
    s.forget('a', 'never-seen');
    const out = await text(s);
    expect(out.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([]);
    expect(s.size).toBe(0);
  });

  it('escapes label values as the text format requires', () => {
    expect(escapeLabelValue('plain-name')).toBe('plain-name');
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});

describe('aggregates by namespace and provider', () => {
  function fleet(mode: 'all' | 'unhealthy' = 'all'): TokenSeries {
    const s = new TokenSeries({ mode });
    const base = { provider: 'a/ref', ready: 'True', reason: 'Issued' } as const;
    s.observe({ ...base, namespace: 'a', name: 'fresh', expiresAt: at(3600), renewalTime: at(1200) });
    s.observe({ ...base, namespace: 'a', name: 'due', expiresAt: at(600), renewalTime: at(-30) });
    s.observe({ ...base, namespace: 'a', name: 'expired', expiresAt: at(-5), renewalTime: at(-600) });
    s.observe({ ...base, namespace: 'a', name: 'broken', ready: 'False', reason: 'UpstreamError' });
    s.observe({ ...base, namespace: 'b', provider: 'cluster/ref', name: 'forever' });
    return s;
  }

  it('counts tokens by namespace, provider, Ready status and reason', async () => {
    const out = await text(fleet());
    expect(samples(out, 'tokensync_tokens').sort()).toEqual([
      'tokensync_tokens{namespace="a",provider="a/ref",ready="False",reason="UpstreamError"} 1',
      'tokensync_tokens{namespace="a",provider="a/ref",ready="True",reason="Issued"} 3',
      'tokensync_tokens{namespace="b",provider="cluster/ref",ready="True",reason="Issued"} 1',
    ]);
  });

  it('counts expired tokens and tokens past their renewal time at scrape time, 0 for groups without any', async () => {
    const out = await text(fleet());
    expect(samples(out, 'tokensync_tokens_expired').sort()).toEqual([
      'tokensync_tokens_expired{namespace="a",provider="a/ref"} 1',
      'tokensync_tokens_expired{namespace="b",provider="cluster/ref"} 0',
    ]);
    expect(samples(out, 'tokensync_tokens_renewal_due').sort()).toEqual([
      'tokensync_tokens_renewal_due{namespace="a",provider="a/ref"} 1',
      'tokensync_tokens_renewal_due{namespace="b",provider="cluster/ref"} 0',
    ]);
    // An hour later the fresh token is due and the due one has expired.
    const later = await text(fleet(), at(1300));
    expect(samples(later, 'tokensync_tokens_expired')).toContain(
      'tokensync_tokens_expired{namespace="a",provider="a/ref"} 2',
    );
    expect(samples(later, 'tokensync_tokens_renewal_due')).toContain(
      'tokensync_tokens_renewal_due{namespace="a",provider="a/ref"} 1',
    );
  });

  it('in unhealthy mode exports per-token series only for tokens not Ready, due for renewal or expired', async () => {
    const out = await text(fleet('unhealthy'));
    const names = (family: string) => samples(out, family).map((l) => /name="([^"]+)"/.exec(l)![1]);
    expect(names('tokensync_token_ready')).toEqual(['due', 'expired', 'broken']);
    expect(names('tokensync_token_expiration_timestamp_seconds')).toEqual(['due', 'expired']);
    expect(names('tokensync_token_renewal_timestamp_seconds')).toEqual(['due', 'expired']);
    // The aggregates still count every token.
    expect(samples(out, 'tokensync_tokens')).toContain(
      'tokensync_tokens{namespace="a",provider="a/ref",ready="True",reason="Issued"} 3',
    );
    // Once its renewal time passes, the fresh token gets its series: the renewal-overdue alert can see it.
    const later = await text(fleet('unhealthy'), at(1300));
    expect(samples(later, 'tokensync_token_ready').some((l) => l.includes('name="fresh"'))).toBe(true);
  });
});

describe('render', () => {
  it('yields to the event loop between chunks of tokens, so reconciles run during a big scrape', async () => {
    const s = new TokenSeries({ chunkSize: 100 });
    for (let i = 0; i < 1_000; i++) {
      s.observe({ namespace: 'ns', name: `t-${i}`, ready: 'True', reason: 'Issued', expiresAt: at(99) });
    }
    // Work queued before the scrape (as a reconcile's I/O callback would be) runs while the scrape is still going.
    let ranDuringRender = false;
    let rendering = true;
    setImmediate(() => {
      ranDuringRender = rendering;
    });
    let chunks = 0;
    let out = '';
    for await (const chunk of s.render(new Date(NOW))) {
      chunks++;
      out += chunk;
    }
    rendering = false;
    expect(chunks).toBeGreaterThanOrEqual(20); // 10 chunks for each of the 2 families with a series per token, at least
    expect(ranDuringRender).toBe(true);
    expect(samples(out, 'tokensync_token_ready')).toHaveLength(1_000);
    expect(samples(out, 'tokensync_token_expiration_timestamp_seconds')).toHaveLength(1_000);
  });

  it('every family has HELP and TYPE once, and its samples are contiguous', async () => {
    const m = new Metrics({ clock });
    m.observeToken({ namespace: 'a', name: 't', provider: 'a/ref', ready: 'True', reason: 'Issued' });
    m.mints.inc({ provider: 'a/ref', result: 'success' });
    const out = await m.text();
    const types = out.split('\n').filter((l) => l.startsWith('# TYPE '));
    const names = types.map((l) => l.split(' ')[2]!);
    expect(new Set(names).size).toBe(names.length);
    let current = '';
    const seen = new Set<string>();
    for (const line of out.split('\n')) {
      if (line.startsWith('# TYPE ')) {
        current = line.split(' ')[2]!;
        expect(seen.has(current), current).toBe(false);
        seen.add(current);
      } else if (line && !line.startsWith('#')) {
        expect(line.startsWith(current), `${line} under ${current}`).toBe(true);
      }
    }
  });

  it("drops prom-client's gauges named like counters (promtool rejects *_active_*_total gauges)", async () => {
    const out = await new Metrics({ clock }).text();
    expect(out).toContain('# TYPE tokensync_nodejs_active_handles gauge');
    expect(out).not.toMatch(/# TYPE \S+_total gauge/);
  });
});

const tools = findPrometheusTools();
if ('reason' in tools) console.warn(`[metrics] promtool check metrics skipped: ${tools.reason}`);

describe.skipIf('reason' in tools)('promtool check metrics', () => {
  it('accepts the whole exposition, process metrics and every token family included', async () => {
    if ('reason' in tools) return;
    const m = new Metrics({ clock });
    m.observeToken({
      namespace: 'a',
      name: 't',
      provider: 'a/ref',
      ready: 'True',
      reason: 'Issued',
      expiresAt: at(-1),
      renewalTime: at(-60),
    });
    m.mints.inc({ provider: 'a/ref', result: 'success' });
    m.upstreamDuration.observe({ provider: 'a/ref', operation: 'issue' }, 0.2);
    m.reconciles.inc({ controller: 'serviceaccounttoken', result: 'success' });
    m.reconcileErrors.inc({ controller: 'serviceaccounttoken' }, 0);
    m.workqueueDepth.set({ name: 'serviceaccounttoken' }, 0);
    m.leader.set(1);
    const result = await promtool(tools.binDir, ['check', 'metrics'], await m.text());
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
