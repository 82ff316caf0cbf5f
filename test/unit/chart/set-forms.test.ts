// `helm template --set ...` the way users write it: every --set the docs show, and a natural command-line form of
// every documented chart value. helm's --set turns 1234 into an integer and true into a boolean, so a schema that
// wants a string (a label, an annotation, an image tag) would reject what a user naturally types, and a template that
// does not quote would render a label Kubernetes refuses. metrics.prometheusRule.* is tested with the alert rules.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findHelm, KUBE_VERSION, REPO_ROOT } from './helm.ts';

const found = findHelm();
if ('reason' in found) console.warn(`[set-forms] skipped: ${found.reason}`);

const CHART = join(REPO_ROOT, 'charts', 'tokensync');
const OUT_OF_SCOPE = /^metrics\.prometheusRule\./;

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field
type Loose = any;

function template(sets: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const helm = 'reason' in found ? 'helm' : found.helm;
  const args = ['template', 'tokensync', CHART, '-n', 'tokensync-system', '--kube-version', KUBE_VERSION];
  for (const s of sets) args.push('--set', s);
  return new Promise((resolve) => {
    execFile(helm, args, { maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const objects = (yaml: string): Loose[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS())
    .filter(Boolean);

/** Each documented command line's --set arguments (metrics.prometheusRule.* left out), from the user-facing docs. */
function documentedSetLines(): Array<{ where: string; sets: string[] }> {
  const docs = ['README.md', 'docs/install.md', 'docs/configuration.md', 'docs/operations.md', 'docs/upgrading.md'];
  return docs.flatMap((doc) =>
    readFileSync(join(REPO_ROOT, doc), 'utf8')
      .split('\n')
      .map((line, i) => ({
        where: `${doc}:${i + 1}`,
        sets: [...line.matchAll(/--set[ =]([^\s`'"]+=[^\s`'"]*)/g)]
          .map((m) => m[1]!)
          .filter((s) => !OUT_OF_SCOPE.test(s)),
      }))
      .filter((l) => l.sets.length > 0),
  );
}

/**
 * A natural command-line form of every value in docs/configuration.md, as a user would type it. Several are numbers
 * or booleans to helm although Kubernetes wants strings: that is the point.
 */
const NATURAL: string[] = [
  'replicaCount=3',
  'image.repository=registry.example.com/platform/tokensync',
  'image.tag=0.2.0',
  'image.tag=20', // a numeric tag: an integer to helm
  'image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  'image.pullPolicy=Always',
  'imagePullSecrets[0].name=regcred',
  'nameOverride=token-sync',
  'fullnameOverride=tokensync-platform',
  'watchNamespace=my-app',
  'maxConcurrentReconciles=8',
  'resyncPeriod=30m',
  'logLevel=debug',
  'logFormat=pretty',
  'leaderElection.enabled=true',
  'leaderElection.id=tokensync-platform',
  'leaderElection.leaseDuration=30s',
  'leaderElection.renewDeadline=20s',
  'leaderElection.retryPeriod=4s',
  'sharding.enabled=true',
  'sharding.shards=32',
  'sharding.leasePrefix=tokensync-eu',
  'extraArgs[0]=--resync-period=2h',
  'extraEnv[0].name=NODE_OPTIONS',
  'serviceAccount.create=true',
  'serviceAccount.name=tokensync-operator',
  'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/tokensync',
  'rbac.create=true',
  'crds.install=false',
  'crds.keep=false',
  'podAnnotations.prometheus\\.io/scrape=true', // a boolean to helm
  'podAnnotations.prometheus\\.io/port=8080', // an integer to helm
  'podLabels.team=platform',
  'podLabels.cost-center=4711', // an integer to helm
  'podSecurityContext.fsGroup=65532',
  'securityContext.readOnlyRootFilesystem=true',
  'resources.requests.cpu=100m',
  'resources.limits.cpu=1',
  'resources.limits.memory=512Mi',
  'tmpSizeLimit=128Mi',
  'terminationGracePeriodSeconds=60',
  'priorityClassName=system-cluster-critical',
  'nodeSelector.kubernetes\\.io/os=linux',
  'nodeSelector.dedicated=true', // a boolean to helm
  'tolerations[0].key=dedicated',
  'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool',
  'topologySpread.enabled=false',
  'topologySpread.maxSkew=2',
  'extraTopologySpreadConstraints[0].maxSkew=1',
  'livenessProbe.periodSeconds=20',
  'livenessProbe.failureThreshold=5',
  'livenessProbe.timeoutSeconds=3',
  'readinessProbe.periodSeconds=5',
  'readinessProbe.failureThreshold=6',
  'readinessProbe.timeoutSeconds=2',
  'startupProbe.failureThreshold=60',
  'podDisruptionBudget.enabled=true',
  'podDisruptionBudget.maxUnavailable=50%',
  'podDisruptionBudget.maxUnavailable=1',
  'health.port=9441',
  'metrics.port=9090',
  'metrics.service.enabled=true',
  'metrics.service.type=NodePort',
  'metrics.service.port=9090',
  'metrics.service.annotations.prometheus\\.io/scrape=true', // a boolean to helm
  'metrics.serviceMonitor.enabled=true',
  'metrics.serviceMonitor.interval=30s',
  'metrics.serviceMonitor.scrapeTimeout=10s',
  'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
  'metrics.serviceMonitor.relabelings[0].action=keep',
  'metrics.serviceMonitor.metricRelabelings[0].action=drop',
  'grafanaDashboard.enabled=true',
  'grafanaDashboard.namespace=monitoring',
  'grafanaDashboard.labels.grafana_dashboard=1', // the sidecar's usual value: an integer to helm
  'grafanaDashboard.annotations.grafana_folder=Platform',
  'watchNamespaces={team-a,team-b}',
  'restartTargets.enabled=true',
  'metrics.secure=false',
  'metrics.certSecret=tokensync-metrics-tls',
  'metrics.tokenSeries=unhealthy',
  'metrics.reader.subjects[0].kind=ServiceAccount',
  'metrics.serviceMonitor.tlsConfig.insecureSkipVerify=true',
  'egress.allow={10.20.0.0/16,vault.corp}',
  'egress.clusterServiceCIDRs={10.96.0.0/12}',
  'egress.clusterPodCIDRs={10.244.0.0/16}',
  'egress.deny={0.0.0.0/0,::/0}',
];

/** Some values only take effect with another one (a tolerations entry without its operator is still valid YAML). */
const COMPANIONS: Record<string, string[]> = {
  'extraEnv[0].name=NODE_OPTIONS': ['extraEnv[0].value=--max-old-space-size=256'],
  'tolerations[0].key=dedicated': ['tolerations[0].operator=Exists'],
  'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool':
    [
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists',
    ],
  'extraTopologySpreadConstraints[0].maxSkew=1': [
    'extraTopologySpreadConstraints[0].topologyKey=kubernetes.io/hostname',
    'extraTopologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway',
  ],
  'serviceAccount.name=tokensync-operator': [],
  'metrics.reader.subjects[0].kind=ServiceAccount': [
    'metrics.reader.subjects[0].name=prometheus-k8s',
    'metrics.reader.subjects[0].namespace=monitoring',
  ],
};

const unescapeDots = (key: string) => key.replaceAll('\\.', '.');
const keyOf = (set: string) => unescapeDots(set.slice(0, set.search(/(?<!\\)=/)));

describe.skipIf('reason' in found)('helm template with --set, as users write it', () => {
  it('every --set in the docs renders', async () => {
    const lines = documentedSetLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const { where, sets } of lines) {
      const r = await template(sets);
      expect(r.code, `${where}: --set ${sets.join(' --set ')}\n${r.stderr}`).toBe(0);
    }
  });

  it('every value in docs/configuration.md has a natural --set form here', () => {
    const page = readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
    const chartValues = page.slice(page.indexOf('## Chart values'), page.indexOf('## Controller flags'));
    const documented = [...chartValues.matchAll(/^\| `([\w.]+)` +\|/gm)]
      .map((m) => m[1]!)
      .filter((k) => !OUT_OF_SCOPE.test(`${k}.`));
    expect(documented.length).toBeGreaterThan(40);
    const covered = NATURAL.map(keyOf);
    const missing = documented.filter(
      (k) => !covered.some((c) => c === k || c.startsWith(`${k}.`) || c.startsWith(`${k}[`)),
    );
    expect(missing).toEqual([]);
  });

  it.each(NATURAL)('--set %s renders', async (set) => {
    const r = await template([set, ...(COMPANIONS[set] ?? [])]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('numbers and booleans typed for labels, annotations, node selectors and the image tag render as strings', async () => {
    const r = await template([
      'image.tag=20',
      'podAnnotations.prometheus\\.io/scrape=true',
      'podAnnotations.prometheus\\.io/port=8080',
      'podLabels.cost-center=4711',
      'nodeSelector.dedicated=true',
      'metrics.service.annotations.prometheus\\.io/scrape=true',
      'serviceAccount.annotations.example\\.com/id=42',
      'grafanaDashboard.enabled=true',
      'grafanaDashboard.labels.grafana_dashboard=1',
      'grafanaDashboard.annotations.grafana_folder=2026',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const all = objects(r.stdout);
    const deployment = all.find((o) => o.kind === 'Deployment');
    const pod = deployment.spec.template;
    expect(pod.spec.containers[0].image).toBe('ghcr.io/tokensync/tokensync:20');
    expect(pod.metadata.labels['app.kubernetes.io/version']).toBe('20');
    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' });
    expect(pod.metadata.labels['cost-center']).toBe('4711');
    expect(pod.spec.nodeSelector).toEqual({ dedicated: 'true' });
    const service = all.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('metrics'));
    expect(service.metadata.annotations['prometheus.io/scrape']).toBe('true');
    const sa = all.find((o) => o.kind === 'ServiceAccount');
    expect(sa.metadata.annotations['example.com/id']).toBe('42');
    const dashboard = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('dashboard'));
    expect(dashboard.metadata.labels.grafana_dashboard).toBe('1');
    expect(dashboard.metadata.annotations.grafana_folder).toBe('2026');
    // Every label and annotation value of every object is a string, as the API server requires.
    for (const o of all) {
      for (const map of [o.metadata?.labels, o.metadata?.annotations, o.spec?.template?.metadata?.labels]) {
        for (const [k, v] of Object.entries(map ?? {})) expect(typeof v, `${o.kind} ${k}`).toBe('string');
      }
    }
  });

  it('still rejects what is wrong, typed as a string or not', async () => {
    for (const bad of ['replicaCount=two', 'logLevel=loud', 'image.pullPolicy=Sometimes', 'resyncPeriod=30 minutes']) {
      const r = await template([bad]);
      expect(r.code, bad).not.toBe(0);
      expect(r.stderr).toMatch(/values don't meet the specifications of the schema|values\.schema/);
    }
  });
});
