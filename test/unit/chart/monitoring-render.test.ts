// How the chart wires the metrics endpoint, its scraper and its RBAC for each setting of metrics.secure,
// metrics.certSecret and metrics.tokenSeries (helm template only; the real API server checks are in
// test/integration/chart and test/integration/monitoring).
import { describe, expect, it } from 'vitest';
import { findHelm } from './helm.ts';
import { type Manifest, renderChart } from './render.ts';

const helm = findHelm();
if ('reason' in helm && process.env['CI']) throw new Error(`chart render tests cannot run in CI: ${helm.reason}`);
if ('reason' in helm) console.warn(`[monitoring-render] skipped: ${helm.reason}`);

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
type Loose = any;

function render(...args: string[]): Manifest[] {
  return 'reason' in helm ? [] : renderChart(helm.helm, ['--set', 'metrics.serviceMonitor.enabled=true', ...args]);
}
const container = (objects: Manifest[]) =>
  (objects.find((o) => o.kind === 'Deployment') as Loose).spec.template.spec.containers[0];
const endpoint = (objects: Manifest[]) => (objects.find((o) => o.kind === 'ServiceMonitor') as Loose).spec.endpoints[0];
const names = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);

describe.skipIf('reason' in helm)('metrics endpoint wiring', () => {
  it('by default: secure server on 8443, review RBAC, a reader ClusterRole, HTTPS scrape with honorLabels', () => {
    const objects = render();
    expect(container(objects).args).toEqual(
      expect.arrayContaining(['--metrics-bind-address=:8443', '--metrics-secure=true', '--token-metrics=all']),
    );
    expect(names(objects, 'ClusterRole')).toEqual(
      expect.arrayContaining(['tokensync-metrics-auth', 'tokensync-metrics-reader']),
    );
    expect(names(objects, 'ClusterRoleBinding')).toContain('tokensync-metrics-auth');
    expect(names(objects, 'ClusterRoleBinding')).not.toContain('tokensync-metrics-reader'); // no subjects given
    const reader = objects.find((o) => o.metadata.name === 'tokensync-metrics-reader') as Loose;
    expect(reader.rules).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
    expect(endpoint(objects)).toMatchObject({ honorLabels: true, scheme: 'https' });
  });

  it('binds metrics.reader.subjects to the reader ClusterRole', () => {
    const objects = render(
      '--set',
      'metrics.reader.subjects[0].kind=ServiceAccount',
      '--set',
      'metrics.reader.subjects[0].name=prometheus-k8s',
      '--set',
      'metrics.reader.subjects[0].namespace=monitoring',
      '--set',
      'metrics.reader.subjects[1].kind=Group',
      '--set',
      'metrics.reader.subjects[1].name=sre',
    );
    const binding = objects.find(
      (o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'tokensync-metrics-reader',
    );
    expect((binding as Loose).subjects).toEqual([
      { kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' },
      { kind: 'Group', name: 'sre', apiGroup: 'rbac.authorization.k8s.io' },
    ]);
  });

  it('mounts metrics.certSecret for --metrics-cert-dir and passes serviceMonitor.tlsConfig through', () => {
    const objects = render(
      '--set',
      'metrics.certSecret=tokensync-metrics-tls',
      '--set-json',
      'metrics.serviceMonitor.tlsConfig={"serverName":"tokensync-metrics.tokensync-system.svc"}',
    );
    expect(container(objects).args).toContain('--metrics-cert-dir=/etc/tokensync/metrics-certs');
    expect(container(objects).volumeMounts).toContainEqual({
      name: 'metrics-certs',
      mountPath: '/etc/tokensync/metrics-certs',
      readOnly: true,
    });
    expect(endpoint(objects).tlsConfig).toEqual({ serverName: 'tokensync-metrics.tokensync-system.svc' });
  });

  it('with metrics.secure=false: plain HTTP, no review permissions, no reader role', () => {
    const objects = render('--set', 'metrics.secure=false', '--set', 'metrics.tokenSeries=unhealthy');
    expect(container(objects).args).toEqual(
      expect.arrayContaining(['--metrics-secure=false', '--token-metrics=unhealthy']),
    );
    expect(names(objects, 'ClusterRole').filter((n) => n.includes('metrics'))).toEqual([]);
    const e = endpoint(objects);
    expect(e).toMatchObject({ honorLabels: true, scheme: 'http' });
    expect(e.bearerTokenFile).toBeUndefined();
    expect(e.tlsConfig).toBeUndefined();
  });
});
