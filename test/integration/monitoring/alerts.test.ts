// The alerts as an on-call person gets them: a real Prometheus (built from the Prometheus Go module) scrapes a running
// `tokensync controller` exactly as the chart's ServiceMonitor configures it (honor_labels, HTTPS, a ServiceAccount
// bearer token bound to the metrics-reader ClusterRole, the Prometheus Operator's target labels), with the chart's
// rendered PrometheusRule loaded. Token states are driven through the reference credentials API (short lifetimes, then
// every upstream request failing), and each alert must fire for the right namespace/name within its stated time: the
// `for` plus one scrape and one rule evaluation interval after the condition starts, plus SLACK_MS for this loaded
// machine. Tokens named `app` in two namespaces must give two alerts.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { helmTemplate } from '../../support/chart-identity.ts';
import { findPrometheusTools } from '../../support/prometheus-tools.ts';
import { Harness, isReady, waitFor } from '../controller/harness.ts';
import { ControllerProcess } from '../controller/process.ts';
import { bindMetricsReaders, RELEASE_NAMESPACE, serviceAccountToken } from './support.ts';

const SCRAPE_S = 2;
const EVAL_S = 1;
const FOR = { notReady: 20, upstreamErrors: 10, noLeader: 5 };
/** Scheduling delays of a 2-core machine shared with other work (never shortens what is asserted). */
const SLACK_MS = 20_000;
const FRACTION = 0.1;

const h = new Harness();
let controller: ControllerProcess;
let prometheus: ChildProcess | undefined;
let promUrl = '';
let dir = '';
const prometheusLog: string[] = [];

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

/** First time each alert (by its labels) was seen firing, from a poller that runs through the whole file. */
const firstFiring = new Map<string, { at: number; alert: PromAlert }>();
const everFiring: PromAlert[] = [];
let poller: NodeJS.Timeout | undefined;

const keyOf = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([k]) => ['alertname', 'namespace', 'name', 'provider'].includes(k))
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

async function promGet<T>(path: string): Promise<T> {
  const res = await fetch(`${promUrl}${path}`);
  const body = (await res.json()) as { status: string; data: T };
  if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data;
}

async function poll(): Promise<void> {
  const { alerts } = await promGet<{ alerts: PromAlert[] }>('/api/v1/alerts');
  for (const alert of alerts) {
    if (alert.state !== 'firing') continue;
    const key = keyOf(alert.labels);
    if (!firstFiring.has(key)) {
      firstFiring.set(key, { at: Date.now(), alert });
      everFiring.push(alert);
    }
  }
}

/** Waits until the alert fires; fails if that is later than `deadline` (epoch ms). */
async function fires(labels: Record<string, string>, deadline: number, what: string): Promise<PromAlert> {
  const key = keyOf(labels);
  while (!firstFiring.has(key) && Date.now() < deadline + 1_000) await new Promise((r) => setTimeout(r, 250));
  const seen = firstFiring.get(key);
  const firing = [...firstFiring.keys()].join('\n  ');
  expect(
    seen,
    `${what}: ${key} did not fire by ${new Date(deadline).toISOString()}; firing:\n  ${firing}`,
  ).toBeDefined();
  expect(seen!.at, `${what}: fired late`).toBeLessThanOrEqual(deadline + 1_000);
  return seen!.alert;
}

/** An RFC 3339 time of a status field, as epoch milliseconds. */
const epochMs = (iso: string | undefined) => Date.parse(iso!);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The scrape configuration the Prometheus Operator generates from the chart's ServiceMonitor endpoint, pointed at
 * the controller process: the same honor_labels, scheme, path, interval, bearer token and TLS settings, and the target
 * labels the operator sets from the Service and Pod (namespace is the controller's: honor_labels must keep the
 * token's own namespace on token series).
 */
function scrapeConfigFrom(monitor: { metadata: { name: string; namespace: string }; spec: Record<string, unknown> }) {
  const [endpoint] = monitor.spec['endpoints'] as Array<Record<string, unknown>>;
  const tls = (endpoint!['tlsConfig'] ?? {}) as { insecureSkipVerify?: boolean };
  const target = new URL(controller.metricsUrl!).host;
  return {
    job_name: `serviceMonitor/${monitor.metadata.namespace}/${monitor.metadata.name}/0`,
    honor_labels: endpoint!['honorLabels'] === true,
    scheme: endpoint!['scheme'] ?? 'http',
    metrics_path: endpoint!['path'] ?? '/metrics',
    scrape_interval: endpoint!['interval'],
    scrape_timeout: endpoint!['scrapeTimeout'],
    ...(endpoint!['bearerTokenFile']
      ? { authorization: { type: 'Bearer', credentials_file: join(dir, 'prometheus.token') } }
      : {}),
    ...(endpoint!['scheme'] === 'https'
      ? { tls_config: { insecure_skip_verify: tls.insecureSkipVerify === true } }
      : {}),
    static_configs: [
      {
        targets: [target],
        labels: {
          job: 'tokensync-metrics',
          namespace: RELEASE_NAMESPACE,
          service: 'tokensync-metrics',
          pod: 'tokensync-5d9c7b8f6-x2k4q',
          container: 'controller',
          endpoint: 'metrics',
        },
      },
    ],
  };
}

const tokens: Record<string, ServiceAccountToken> = {};
let faultsAt = 0;

beforeAll(async () => {
  const tools = findPrometheusTools();
  if ('reason' in tools) throw new Error(tools.reason); // global setup builds them
  await h.start();
  dir = mkdtempSync(join(tmpdir(), 'tokensync-alerts-'));
  for (const ns of ['team-a', 'team-b']) await h.setupNamespace(ns);
  writeFileSync(join(dir, 'prometheus.token'), await serviceAccountToken(h.cp, 'monitoring', 'prometheus'));
  await bindMetricsReaders(h.cp, [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }]);

  controller = new ControllerProcess(h.controllerKubeconfigPath, ['--metrics-secure=true']);
  await controller.synced();

  const objects = (await helmTemplate(h.cp, [
    '--set',
    'metrics.serviceMonitor.enabled=true',
    '--set',
    `metrics.serviceMonitor.interval=${SCRAPE_S}s`,
    '--set',
    `metrics.serviceMonitor.scrapeTimeout=${SCRAPE_S}s`,
    '--set',
    'metrics.prometheusRule.enabled=true',
    '--set',
    `metrics.prometheusRule.renewalOverdue.fraction=${FRACTION}`,
    '--set',
    `metrics.prometheusRule.for.notReady=${FOR.notReady}s`,
    '--set',
    `metrics.prometheusRule.for.upstreamErrors=${FOR.upstreamErrors}s`,
    '--set',
    `metrics.prometheusRule.for.noLeader=${FOR.noLeader}s`,
  ])) as Array<{ kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> }>;
  const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
  const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
  writeFileSync(join(dir, 'rules.yaml'), stringify(rule.spec));
  writeFileSync(
    join(dir, 'prometheus.yaml'),
    stringify({
      global: { scrape_interval: `${SCRAPE_S}s`, evaluation_interval: `${EVAL_S}s` },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: [scrapeConfigFrom(monitor)],
    }),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    join(tools.binDir, 'prometheus'),
    [
      `--config.file=${join(dir, 'prometheus.yaml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [prometheus.stdout!, prometheus.stderr!]) {
    stream.on('data', (chunk: Buffer) => prometheusLog.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  }
  await waitFor('prometheus ready', async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok, 60_000);
  poller = setInterval(() => void poll().catch(() => undefined), 500);
}, 300_000);

afterAll(async () => {
  clearInterval(poller);
  prometheus?.kill('SIGKILL');
  await controller?.kill('SIGKILL');
  await h.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('alerts from a real Prometheus scraping the controller as the ServiceMonitor configures it', () => {
  it('scrapes the secure endpoint with the token series under their own namespaces', async () => {
    const spec = { lifetime: '90s', renewBefore: '60s' };
    await Promise.all([
      h.createToken('team-a', 'app', spec),
      h.createToken('team-b', 'app', spec),
      h.createToken('team-a', 'steady'),
      // A configuration error: the provider does not exist.
      h.createToken('team-a', 'orphan', { providerRef: { name: 'missing' } }),
      h.createToken('team-b', 'orphan', { providerRef: { name: 'missing' } }),
    ]);
    for (const [ns, name] of [
      ['team-a', 'app'],
      ['team-b', 'app'],
      ['team-a', 'steady'],
    ] as const) {
      tokens[`${ns}/${name}`] = await waitFor(`${ns}/${name} Ready`, async () => {
        const sat = await h.getToken(ns, name);
        return isReady(sat) ? sat : undefined;
      });
    }
    // Every upstream request fails from now on: renewals of the 90s tokens cannot happen, new tokens cannot be minted.
    await h.admin('PUT', '/_faults', { errorRate: 1 });
    faultsAt = Date.now();
    // The status whose renewal is now bound to fail (re-read: a renewal may have happened while the others were minted).
    for (const ns of ['team-a', 'team-b']) {
      const sat = (await h.getToken(ns, 'app'))!;
      const renewal = epochMs(sat.status!.renewalTime);
      if (renewal <= faultsAt) throw new Error(`${ns}/app renewed before the faults were on: the machine is too slow`);
      tokens[`${ns}/app`] = sat;
    }
    await Promise.all([h.createToken('team-a', 'broken'), h.createToken('team-b', 'broken')]);

    const up = await waitFor('target up', async () => {
      const r = await promGet<{ result: Array<{ value: [number, string] }> }>('/api/v1/query?query=up');
      return r.result[0]?.value[1] === '1' ? r.result : undefined;
    });
    expect(up).toHaveLength(1);
    const series = await waitFor('token series scraped', async () => {
      const r = await promGet<{ result: Array<{ metric: Record<string, string> }> }>(
        `/api/v1/query?query=${encodeURIComponent('tokensync_token_expiration_timestamp_seconds{name="app"}')}`,
      );
      return r.result.length === 2 ? r.result : undefined;
    });
    // honor_labels: the token's namespace, not the controller's, and no exported_namespace.
    expect(series.map((s) => s.metric['namespace']).sort()).toEqual(['team-a', 'team-b']);
    for (const s of series) expect(s.metric['exported_namespace']).toBeUndefined();
  });

  it('TokensyncUpstreamErrors fires for each provider object, with its namespace', async () => {
    const deadline = faultsAt + (FOR.upstreamErrors + 2 * SCRAPE_S + EVAL_S) * 1000 + SLACK_MS;
    for (const ns of ['team-a', 'team-b']) {
      const alert = await fires(
        { alertname: 'TokensyncUpstreamErrors', provider: `${ns}/reference`, namespace: ns },
        deadline,
        'upstream errors',
      );
      expect(alert.annotations['summary']).toMatch(new RegExp(`^CredentialsProvider ${ns}/reference fails \\d+%`));
    }
  });

  it('TokensyncTokenNotReady fires for tokens whose provider does not exist, once per namespace', async () => {
    for (const ns of ['team-a', 'team-b']) {
      const sat = await waitFor(`${ns}/orphan Ready=False`, async () => {
        const s = await h.getToken(ns, 'orphan');
        return s?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ? s : undefined;
      });
      const ready = sat.status!.conditions!.find((c) => c.type === 'Ready')!;
      const alert = await fires(
        { alertname: 'TokensyncTokenNotReady', namespace: ns, name: 'orphan' },
        epochMs(ready.lastTransitionTime) + (FOR.notReady + SCRAPE_S + EVAL_S) * 1000 + SLACK_MS,
        `${ns}/orphan not ready`,
      );
      expect(Date.parse(alert.activeAt)).toBeGreaterThanOrEqual(epochMs(ready.lastTransitionTime) - 1_000);
      expect(alert.annotations['summary']).toBe(`ServiceAccountToken ${ns}/orphan is not Ready (${ready.reason})`);
    }
  });

  it('TokensyncTokenRenewalOverdue fires for both tokens named app, a fraction of their window after renewal time', async () => {
    for (const ns of ['team-a', 'team-b']) {
      const status = tokens[`${ns}/app`]!.status!;
      const renewal = epochMs(status.renewalTime);
      const expiry = epochMs(status.expiresAt);
      const overdueAt = renewal + FRACTION * (expiry - renewal);
      const alert = await fires(
        { alertname: 'TokensyncTokenRenewalOverdue', namespace: ns, name: 'app' },
        overdueAt + (SCRAPE_S + EVAL_S) * 1000 + SLACK_MS,
        `${ns}/app renewal overdue`,
      );
      // Before the expiry: this alert is the early warning, not a post-mortem.
      expect(firstFiring.get(keyOf(alert.labels))!.at).toBeLessThan(expiry);
      expect(Date.parse(alert.activeAt)).toBeGreaterThanOrEqual(overdueAt - 1_000);
      expect(alert.annotations['summary']).toContain(`ServiceAccountToken ${ns}/app is overdue by`);
    }
  });

  it('TokensyncTokenExpired fires at the expiry, once per namespace', async () => {
    for (const ns of ['team-a', 'team-b']) {
      const expiry = epochMs(tokens[`${ns}/app`]!.status!.expiresAt);
      const alert = await fires(
        { alertname: 'TokensyncTokenExpired', namespace: ns, name: 'app' },
        expiry + (SCRAPE_S + EVAL_S) * 1000 + SLACK_MS,
        `${ns}/app expired`,
      );
      expect(Date.parse(alert.activeAt)).toBeGreaterThanOrEqual(expiry - 1_000);
      expect(alert.annotations['summary']).toBe(`ServiceAccountToken ${ns}/app has expired`);
    }
  });

  // Needs the token reconciler to report upstream failures through metrics.observeToken (issue 14, lead's part).
  it('TokensyncTokenNotReady fires for tokens that could never be minted (UpstreamError)', async () => {
    for (const ns of ['team-a', 'team-b']) {
      const sat = await waitFor(`${ns}/broken Ready=False`, async () => {
        const s = await h.getToken(ns, 'broken');
        return s?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ? s : undefined;
      });
      const since = epochMs(sat.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime);
      const alert = await fires(
        { alertname: 'TokensyncTokenNotReady', namespace: ns, name: 'broken' },
        since + (FOR.notReady + SCRAPE_S + EVAL_S) * 1000 + SLACK_MS,
        `${ns}/broken not ready`,
      );
      expect(alert.annotations['summary']).toBe(`ServiceAccountToken ${ns}/broken is not Ready (UpstreamError)`);
    }
  });

  // Needs the token reconciler to turn an expired token Ready=False/Expired (issue 14, lead's part).
  it('TokensyncTokenNotReady fires for the expired tokens, with reason Expired', async () => {
    for (const ns of ['team-a', 'team-b']) {
      const expiry = epochMs(tokens[`${ns}/app`]!.status!.expiresAt);
      const alert = await fires(
        { alertname: 'TokensyncTokenNotReady', namespace: ns, name: 'app' },
        expiry + (FOR.notReady + SCRAPE_S + EVAL_S) * 1000 + SLACK_MS,
        `${ns}/app not ready after expiry`,
      );
      expect(alert.annotations['summary']).toBe(`ServiceAccountToken ${ns}/app is not Ready (Expired)`);
    }
  });

  it('no alert names the healthy token, and every rule evaluates without error', async () => {
    expect(everFiring.filter((a) => a.labels['name'] === 'steady')).toEqual([]);
    const { groups } = await promGet<{
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
    }>('/api/v1/rules');
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual([
      'TokensyncNoLeader',
      'TokensyncReconcileErrors',
      'TokensyncTokenExpired',
      'TokensyncTokenNotReady',
      'TokensyncTokenRenewalOverdue',
      'TokensyncUpstreamErrors',
    ]);
    for (const r of rules) expect(r.health, `${r.name}: ${r.lastError ?? ''}`).toBe('ok');
    // Alerts about tokens carry the token's namespace, never the controller's.
    for (const a of everFiring.filter((x) => x.labels['name']))
      expect(a.labels['namespace']).not.toBe(RELEASE_NAMESPACE);
  });

  it('TokensyncNoLeader fires when the controller is gone, and not while it leads', async () => {
    // (Before the first scrape absent() holds too: with this test's 5s `for`, Prometheus' start-up can fire it once.)
    const key = keyOf({ alertname: 'TokensyncNoLeader' });
    const { alerts } = await promGet<{ alerts: PromAlert[] }>('/api/v1/alerts');
    expect(alerts.filter((a) => a.labels['alertname'] === 'TokensyncNoLeader')).toEqual([]);
    firstFiring.delete(key);
    await controller.kill('SIGKILL');
    const killedAt = Date.now();
    await fires(
      { alertname: 'TokensyncNoLeader' },
      killedAt + (FOR.noLeader + SCRAPE_S + EVAL_S) * 1000 + SLACK_MS,
      'no leader',
    );
    expect(firstFiring.get(key)!.at).toBeGreaterThanOrEqual(killedAt + FOR.noLeader * 1000);
  });
});
