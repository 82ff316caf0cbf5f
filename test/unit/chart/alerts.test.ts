// The chart's alerting rules under promtool (built from the Prometheus Go module by scripts/prometheus-build.sh):
// `promtool check rules --lint=all` on the rendered PrometheusRule, and `promtool test rules` with a test case per
// alert, each checking labels (namespace/name of the right token, two tokens of one name in two namespaces giving
// two alerts) and the exact annotations an on-call person reads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findPrometheusTools, promtool } from '../../support/prometheus-tools.ts';
import { findHelm } from './helm.ts';
import { renderChart } from './render.ts';

const helm = findHelm();
const tools = findPrometheusTools();
const reason = 'reason' in helm ? helm.reason : 'reason' in tools ? tools.reason : undefined;
// In CI both are built by .ci/run before the tests: a skip there would hide a broken alert.
if (reason && process.env['CI']) throw new Error(`alert tests cannot run in CI: ${reason}`);
if (reason) console.warn(`[alerts] skipped: ${reason}`);

const RUNBOOK = 'https://github.com/tokensync/tokensync/blob/main/docs/operations.md';

interface Alert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}

/** What an alert about one token says, as the chart words it. */
const token = {
  notReady: (ns: string, name: string, why: string, forText = '15m'): Alert => ({
    exp_labels: { severity: 'warning', namespace: ns, name },
    exp_annotations: {
      summary: `ServiceAccountToken ${ns}/${name} is not Ready (${why})`,
      description: `ServiceAccountToken ${ns}/${name} has not been Ready for ${forText} (reason ${why}). Run \`kubectl describe sat -n ${ns} ${name}\`.`,
      runbook_url: `${RUNBOOK}#token-not-ready`,
    },
  }),
  overdue: (ns: string, name: string, late: string, why: string): Alert => ({
    exp_labels: { severity: 'critical', namespace: ns, name },
    exp_annotations: {
      summary: `Renewal of ServiceAccountToken ${ns}/${name} is overdue by ${late}`,
      description: `tokensync should have rotated ServiceAccountToken ${ns}/${name} ${late} ago and has not (reason ${why}). Consumers fail when the current token expires. Run \`kubectl describe sat -n ${ns} ${name}\`.`,
      runbook_url: `${RUNBOOK}#token-renewal-overdue`,
    },
  }),
  expired: (ns: string, name: string, ago: string, why: string): Alert => ({
    exp_labels: { severity: 'critical', namespace: ns, name },
    exp_annotations: {
      summary: `ServiceAccountToken ${ns}/${name} has expired`,
      description: `The Secret of ServiceAccountToken ${ns}/${name} holds a token that expired ${ago} ago (reason ${why}).`,
      runbook_url: `${RUNBOOK}#token-expired`,
    },
  }),
};

function upstream(provider: string, percent: string, threshold = '10'): Alert {
  const cluster = provider.startsWith('cluster/');
  const object = cluster
    ? `ClusterCredentialsProvider ${provider.slice('cluster/'.length)}`
    : `CredentialsProvider ${provider}`;
  return {
    exp_labels: {
      severity: 'warning',
      provider,
      ...(cluster ? {} : { namespace: provider.split('/')[0]! }),
    },
    exp_annotations: {
      summary: `${object} fails ${percent} of upstream requests`,
      description: `More than ${threshold}% of the requests tokensync sent with ${object} failed over 10 minutes. Mints and renewals through it are retried with backoff; check its Ready condition and the code label of tokensync_upstream_requests_total.`,
      runbook_url: `${RUNBOOK}#upstream-errors`,
    },
  };
}

const ready = (ns: string, name: string, why: string, values: string) => ({
  series: `tokensync_token_ready{namespace="${ns}",name="${name}",provider="${ns}/ref",reason="${why}"}`,
  values,
});
const stamp = (family: 'expiration' | 'renewal', ns: string, name: string, seconds: number, steps = 120) => ({
  series: `tokensync_token_${family}_timestamp_seconds{namespace="${ns}",name="${name}"}`,
  values: `${seconds}x${steps}`,
});

/** promtool test cases, one group (at least) per alert. */
const tests = [
  {
    name: 'NotReady fires after 15m for every not-ready reason, once per namespace/name, and not for Ready tokens',
    interval: '1m',
    input_series: [
      ready('team-a', 'app', 'UpstreamError', '0x30'),
      ready('team-b', 'app', 'UpstreamRejected', '0x30'),
      ready('team-c', 'app', 'ProviderNotReady', '0x30'),
      ready('team-d', 'app', 'InvalidSpec', '0x30'),
      ready('team-e', 'app', 'Expired', '0x30'),
      ready('team-f', 'app', 'CredentialMissing', '0x30'),
      ready('team-g', 'app', 'SecretConflict', '0x30'),
      ready('team-h', 'app', 'ProviderNotAllowed', '0x30'),
      ready('team-i', 'app', 'Unknown', '0x30'),
      ready('team-ok', 'app', 'Issued', '1x30'),
      ready('team-ok', 'passthrough', 'Passthrough', '1x30'),
    ],
    alert_rule_test: [
      { eval_time: '14m', alertname: 'TokensyncTokenNotReady', exp_alerts: [] },
      {
        eval_time: '15m',
        alertname: 'TokensyncTokenNotReady',
        exp_alerts: [
          token.notReady('team-a', 'app', 'UpstreamError'),
          token.notReady('team-b', 'app', 'UpstreamRejected'),
          token.notReady('team-c', 'app', 'ProviderNotReady'),
          token.notReady('team-d', 'app', 'InvalidSpec'),
          token.notReady('team-e', 'app', 'Expired'),
          token.notReady('team-f', 'app', 'CredentialMissing'),
          token.notReady('team-g', 'app', 'SecretConflict'),
          token.notReady('team-h', 'app', 'ProviderNotAllowed'),
          token.notReady('team-i', 'app', 'Unknown'),
        ],
      },
    ],
  },
  {
    name: 'NotReady keeps counting when the reason changes, and resolves when the token is Ready again',
    interval: '1m',
    input_series: [
      // UpstreamError for 10m, then UpstreamRejected (a new series: the reason is a label), then Ready.
      ready('team-a', 'flaky', 'UpstreamError', '0x9'),
      ready('team-a', 'flaky', 'UpstreamRejected', '_x10 0x15'),
      ready('team-a', 'flaky', 'Issued', '_x26 1x10'),
    ],
    alert_rule_test: [
      {
        eval_time: '16m',
        alertname: 'TokensyncTokenNotReady',
        exp_alerts: [token.notReady('team-a', 'flaky', 'UpstreamRejected')],
      },
      { eval_time: '27m', alertname: 'TokensyncTokenNotReady', exp_alerts: [] },
    ],
  },
  {
    name: 'RenewalOverdue fires a fraction of the renewal window after the renewal time, until expiry',
    interval: '1m',
    input_series: [
      // 30-minute lifetime, renewal window 10m (renewal at 20m, expiry at 30m): overdue after 60 s, two namespaces.
      stamp('renewal', 'team-a', 'short', 1200),
      stamp('expiration', 'team-a', 'short', 1800),
      ready('team-a', 'short', 'UpstreamError', '1x120'),
      stamp('renewal', 'team-b', 'short', 1200),
      stamp('expiration', 'team-b', 'short', 1800),
      ready('team-b', 'short', 'Issued', '1x120'),
      // A long window (100,000 s): overdue after maxSeconds (1h), not after 10,000 s.
      stamp('renewal', 'team-a', 'long', 600),
      stamp('expiration', 'team-a', 'long', 100_600),
      ready('team-a', 'long', 'Issued', '1x120'),
      // Rotates on a schedule, never expires: overdue after maxSeconds.
      stamp('renewal', 'team-a', 'rotating', 600),
      ready('team-a', 'rotating', 'Issued', '1x120'),
      // Renewal far ahead: never overdue.
      stamp('renewal', 'team-a', 'fine', 86_400),
      stamp('expiration', 'team-a', 'fine', 100_000),
    ],
    alert_rule_test: [
      { eval_time: '21m', alertname: 'TokensyncTokenRenewalOverdue', exp_alerts: [] },
      {
        eval_time: '22m',
        alertname: 'TokensyncTokenRenewalOverdue',
        exp_alerts: [
          token.overdue('team-a', 'short', '2m 0s', 'UpstreamError'),
          token.overdue('team-b', 'short', '2m 0s', 'Issued'),
        ],
      },
      // At expiry TokensyncTokenExpired takes over.
      { eval_time: '30m', alertname: 'TokensyncTokenRenewalOverdue', exp_alerts: [] },
      { eval_time: '70m', alertname: 'TokensyncTokenRenewalOverdue', exp_alerts: [] },
      {
        eval_time: '71m',
        alertname: 'TokensyncTokenRenewalOverdue',
        exp_alerts: [
          token.overdue('team-a', 'long', '1h 1m 0s', 'Issued'),
          token.overdue('team-a', 'rotating', '1h 1m 0s', 'Issued'),
        ],
      },
    ],
  },
  {
    name: 'RenewalOverdue scales down to a one-minute renewal window',
    interval: '10s',
    input_series: [
      // renewBefore 1m on a 5m token: renewal at 240 s, expiry at 300 s: overdue after 6 s, well before expiry.
      stamp('renewal', 'team-a', 'tiny', 240, 60),
      stamp('expiration', 'team-a', 'tiny', 300, 60),
      ready('team-a', 'tiny', 'Issued', '1x60'),
    ],
    alert_rule_test: [
      { eval_time: '240s', alertname: 'TokensyncTokenRenewalOverdue', exp_alerts: [] },
      {
        eval_time: '250s',
        alertname: 'TokensyncTokenRenewalOverdue',
        exp_alerts: [token.overdue('team-a', 'tiny', '10s', 'Issued')],
      },
    ],
  },
  {
    name: 'Expired fires at the expiry, for each namespace',
    interval: '1m',
    input_series: [
      stamp('expiration', 'team-a', 'app', 1800),
      ready('team-a', 'app', 'Expired', '0x120'),
      stamp('expiration', 'team-b', 'app', 1800),
      ready('team-b', 'app', 'UpstreamError', '0x120'),
      stamp('expiration', 'team-c', 'app', 7200),
    ],
    alert_rule_test: [
      { eval_time: '29m', alertname: 'TokensyncTokenExpired', exp_alerts: [] },
      {
        eval_time: '31m',
        alertname: 'TokensyncTokenExpired',
        exp_alerts: [
          token.expired('team-a', 'app', '1m 0s', 'Expired'),
          token.expired('team-b', 'app', '1m 0s', 'UpstreamError'),
        ],
      },
    ],
  },
  {
    name: 'UpstreamErrors names the provider object and its namespace; 404s and healthy providers do not count',
    interval: '1m',
    input_series: [
      {
        series: 'tokensync_upstream_requests_total{provider="team-a/ref",operation="issue",code="503"}',
        values: '0+10x30',
      },
      {
        series: 'tokensync_upstream_requests_total{provider="team-a/ref",operation="issue",code="201"}',
        values: '0+10x30',
      },
      {
        series: 'tokensync_upstream_requests_total{provider="cluster/shared",operation="revoke",code="error"}',
        values: '0+5x30',
      },
      {
        series: 'tokensync_upstream_requests_total{provider="cluster/shared",operation="revoke",code="204"}',
        values: '0+15x30',
      },
      {
        series: 'tokensync_upstream_requests_total{provider="team-b/ref",operation="revoke",code="404"}',
        values: '0+10x30',
      },
      {
        series: 'tokensync_upstream_requests_total{provider="team-b/ref",operation="issue",code="201"}',
        values: '0+10x30',
      },
    ],
    alert_rule_test: [
      { eval_time: '10m', alertname: 'TokensyncUpstreamErrors', exp_alerts: [] },
      {
        eval_time: '12m',
        alertname: 'TokensyncUpstreamErrors',
        exp_alerts: [upstream('team-a/ref', '50%'), upstream('cluster/shared', '25%')],
      },
    ],
  },
  {
    // 0.1 errors/s from the start: rate() over 15m passes 0.05 once the window holds ~7m of it, +15m of `for`.
    name: 'ReconcileErrors fires on a sustained error rate',
    interval: '1m',
    input_series: [{ series: 'tokensync_reconcile_errors_total{controller="serviceaccounttoken"}', values: '0+6x40' }],
    alert_rule_test: [
      { eval_time: '20m', alertname: 'TokensyncReconcileErrors', exp_alerts: [] },
      {
        eval_time: '25m',
        alertname: 'TokensyncReconcileErrors',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning' },
            exp_annotations: {
              summary: 'tokensync reconciles keep failing',
              description: 'The controller failed 100m reconciles per second over 15 minutes.',
              runbook_url: `${RUNBOOK}#reconcile-errors`,
            },
          },
        ],
      },
    ],
  },
  {
    name: 'NoLeader fires when no scraped pod leads, and when none is scraped at all',
    interval: '1m',
    input_series: [
      { series: 'tokensync_leader{job="tokensync-metrics",pod="a"}', values: '1x5 0x20' },
      { series: 'tokensync_leader{job="tokensync-metrics",pod="b"}', values: '0x25 _x20' },
    ],
    alert_rule_test: [
      { eval_time: '5m', alertname: 'TokensyncNoLeader', exp_alerts: [] },
      {
        eval_time: '11m',
        alertname: 'TokensyncNoLeader',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning' },
            exp_annotations: {
              summary: 'No tokensync controller is leading',
              description:
                'No pod of tokensync-metrics holds the leader Lease (or none is scraped); tokens are not renewed.',
              runbook_url: `${RUNBOOK}#no-leader`,
            },
          },
        ],
      },
      {
        eval_time: '40m',
        alertname: 'TokensyncNoLeader',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning', job: 'tokensync-metrics' },
            exp_annotations: {
              summary: 'No tokensync controller is leading',
              description:
                'No pod of tokensync-metrics holds the leader Lease (or none is scraped); tokens are not renewed.',
              runbook_url: `${RUNBOOK}#no-leader`,
            },
          },
        ],
      },
    ],
  },
];

describe.skipIf(reason !== undefined)('alerting rules under promtool', () => {
  let dir = '';
  let rules: { groups: Array<{ rules: Array<{ alert: string }> }> };
  beforeAll(() => {
    if ('reason' in helm) return;
    dir = mkdtempSync(join(tmpdir(), 'tokensync-alerts-'));
    rules = renderChart(helm.helm, ['--set', 'metrics.prometheusRule.enabled=true'], 'PrometheusRule')[0]![
      'spec'
    ] as typeof rules;
    writeFileSync(join(dir, 'rules.yaml'), stringify(rules));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pass promtool check rules --lint=all', { timeout: 60_000 }, async () => {
    if ('reason' in tools) return;
    const r = await promtool(tools.binDir, ['check', 'rules', '--lint=all', join(dir, 'rules.yaml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it('every alert has a promtool test case', () => {
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    const tested = new Set(tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)));
    expect(alerts.sort()).toEqual([...tested].sort());
  });

  it('pass promtool test rules: each alert fires for the right token, in time, worded as documented', {
    timeout: 120_000,
  }, async () => {
    if ('reason' in tools) return;
    writeFileSync(
      join(dir, 'tests.yaml'),
      stringify({ rule_files: ['rules.yaml'], evaluation_interval: '10s', tests }, { lineWidth: 0 }),
    );
    const r = await promtool(tools.binDir, ['test', 'rules', join(dir, 'tests.yaml')]);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
