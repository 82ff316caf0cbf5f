// The Helm chart against helm itself (lint, schema) and a real kube-apiserver (server-side dry-run, a real
// install/upgrade/uninstall, and what its RBAC allows).
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { egressPolicyOf, parseControllerFlags } from '../../../src/cli/controller-flags.ts';
import { decideEgress } from '../../../src/providers/transport/egress-policy.ts';
import { ROLLOUT_CRD } from '../../support/argo-rollouts.ts';
import { type ControlPlane, REPO_ROOT, startControlPlane } from '../../support/control-plane.ts';

const CHART = join(REPO_ROOT, 'charts', 'tokensync');
const KUBE_VERSION = '1.30.0';
const NS = 'tokensync-system';
const SA = `system:serviceaccount:${NS}:tokensync`;

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
type Loose = any;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

let cp: ControlPlane;
const helmBin = () => join(process.env['TOKENSYNC_KUBE_BIN'] ?? cp.binDir, 'helm');

function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      helmBin(),
      args,
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: cp?.kubeconfigPath ?? '/dev/null' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function template(...args: string[]): Promise<{ yaml: string; objects: K8sObject[] }> {
  const r = await helm(['template', 'tokensync', CHART, '-n', NS, '--kube-version', KUBE_VERSION, ...args]);
  expect(r.code, r.stderr).toBe(0);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { yaml: r.stdout, objects };
}

/**
 * The chart as `helm install` gets it. The kube-apiserver built from the Go module without release ldflags reports
 * v0.0.0-master, which no kubeVersion constraint admits; against such a server only, install a copy without the
 * constraint (the constraint itself is exercised by helm lint and helm template --kube-version).
 */
async function installableChart(): Promise<string> {
  const version = await cp.kubectl(['version', '-o', 'json']);
  const gitVersion = (JSON.parse(version.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
  if (!gitVersion.startsWith('v0.0.0')) return CHART;
  const copy = join(cp.dir, 'chart');
  cpSync(CHART, copy, { recursive: true });
  const chartYaml = join(copy, 'Chart.yaml');
  writeFileSync(chartYaml, readFileSync(chartYaml, 'utf8').replace(/^kubeVersion:.*$/m, ''));
  return copy;
}

const find = (objects: K8sObject[], kind: string, name?: string) =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

beforeAll(async () => {
  // No CRDs from the control plane: the chart's own CRDs must install.
  cp = await startControlPlane({ crds: false });
});
afterAll(async () => {
  await cp?.stop();
});

describe('helm lint and template', () => {
  it('lints clean in strict mode', async () => {
    const r = await helm(['lint', '--strict', CHART, '--kube-version', KUBE_VERSION]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('0 chart(s) failed');
  });

  it("ships no CRDs in helm's native crds/ dir (they would clash with templates/crds.yaml on install)", async () => {
    const r = await helm(['show', 'crds', CHART]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('');
  });

  it('renders the defaults: 2 replicas with leader election, hardened pod, cluster-wide RBAC, kept CRDs', async () => {
    const { objects } = await template();
    const [deployment] = find(objects, 'Deployment') as Array<K8sObject & { spec: Loose }>;
    const pod = deployment!.spec.template.spec;
    const container = pod.containers[0];
    expect(deployment!.spec.replicas).toBe(2);
    expect(container.args).toContain('--leader-elect');
    expect(parseControllerFlags(container.args.slice(1), {})).toMatchObject({ 'leader-elect': true });
    expect(container.args).not.toContainEqual(expect.stringMatching(/^--namespace=/));
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.env).toContainEqual({
      name: 'POD_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
    expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'tmp', emptyDir: expect.any(Object) }));
    expect(pod.topologySpreadConstraints).toHaveLength(2);
    expect(find(objects, 'ClusterRole', 'tokensync')).toHaveLength(1);
    expect(find(objects, 'Role', 'tokensync-leader-election')[0]!.metadata.namespace).toBe(NS);
    expect(find(objects, 'PodDisruptionBudget')).toHaveLength(1);
    expect(find(objects, 'Service', 'tokensync-metrics')).toHaveLength(1);
    const crds = find(objects, 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      'clustercredentialsproviders.tokensync.io',
      'credentialsproviders.tokensync.io',
      'serviceaccounttokens.tokensync.io',
    ]);
    for (const crd of crds) expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    for (const o of objects) expect(o.metadata.labels?.['app.kubernetes.io/instance'], o.kind).toBe('tokensync');
  });

  it('with watchNamespace: --namespace and a Role there, only cluster-scoped reads in a ClusterRole', async () => {
    const { objects } = await template('--set', 'watchNamespace=apps');
    const [deployment] = find(objects, 'Deployment') as Array<K8sObject & { spec: Loose }>;
    expect(deployment!.spec.template.spec.containers[0].args).toContain('--namespace=apps');
    expect(find(objects, 'ClusterRole', 'tokensync')).toEqual([]);
    expect(find(objects, 'Role', 'tokensync')[0]!.metadata.namespace).toBe('apps');
    expect(find(objects, 'RoleBinding', 'tokensync')[0]!.metadata.namespace).toBe('apps');
    const [clusterRead] = find(objects, 'ClusterRole', 'tokensync-cluster-read') as Array<
      K8sObject & { rules: Loose[] }
    >;
    const resources = clusterRead!.rules.flatMap((r: { resources: string[] }) => r.resources).sort();
    expect(resources).toEqual(['clustercredentialsproviders', 'clustercredentialsproviders/status', 'namespaces']);
    for (const rule of clusterRead!.rules) {
      // Namespaces are read one at a time; ClusterCredentialsProviders are watched and get the in-use finalizer.
      if (rule.resources[0] === 'namespaces') expect(rule.verbs).toEqual(['get']);
      else if (!rule.resources[0].endsWith('/status')) expect(rule.verbs).toEqual(['list', 'watch', 'patch']);
      else expect(rule.verbs).toEqual(['patch']);
    }
  });

  it('one replica without leader election uses Recreate; two without it is refused', async () => {
    const { objects } = await template('--set', 'replicaCount=1', '--set', 'leaderElection.enabled=false');
    const [deployment] = find(objects, 'Deployment') as Array<K8sObject & { spec: Loose }>;
    expect(deployment!.spec.strategy).toEqual({ type: 'Recreate' });
    expect(deployment!.spec.template.spec.containers[0].args).not.toContain('--leader-elect');
    expect(find(objects, 'PodDisruptionBudget')).toEqual([]);
    const r = await helm([
      'template',
      'x',
      CHART,
      '--kube-version',
      KUBE_VERSION,
      '--set',
      'leaderElection.enabled=false',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('two controllers without a leader');
  });

  it('renders no egress flag by default, and each egress value as the flag the controller parses', async () => {
    const defaults = await template();
    const [plain] = find(defaults.objects, 'Deployment') as Array<K8sObject & { spec: Loose }>;
    expect((plain!.spec.template.spec.containers[0].args as string[]).filter((a) => /egress|cidrs/.test(a))).toEqual(
      [],
    );

    const { objects } = await template(
      '--set',
      'egress.allow={vault.corp,10.20.0.0/16,127.0.0.1}',
      '--set',
      'egress.clusterServiceCIDRs={10.96.0.0/12,fd00:10:96::/112}',
      '--set',
      'egress.clusterPodCIDRs={10.244.0.0/16}',
      '--set',
      'egress.deny={198.51.0.0/16}',
    );
    const [deployment] = find(objects, 'Deployment') as Array<K8sObject & { spec: Loose }>;
    const args = deployment!.spec.template.spec.containers[0].args as string[];
    expect(args).toEqual(
      expect.arrayContaining([
        '--egress-allow=vault.corp,10.20.0.0/16,127.0.0.1',
        '--cluster-service-cidrs=10.96.0.0/12,fd00:10:96::/112',
        '--cluster-pod-cidrs=10.244.0.0/16',
        '--egress-deny=198.51.0.0/16',
      ]),
    );
    const policy = egressPolicyOf(parseControllerFlags(args.slice(1), {}));
    expect(decideEgress({ address: '10.96.0.1' }, policy)).toMatchObject({
      allowed: false,
      rule: { source: '--cluster-service-cidrs' },
    });
    expect(decideEgress({ address: '10.20.1.1' }, policy).allowed).toBe(true);
    expect(decideEgress({ address: '10.0.0.9', host: 'vault.corp' }, policy).allowed).toBe(true);
  });

  it('renders the optional monitoring objects with valid alert rules and dashboard', async () => {
    const { objects } = await template(
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set',
      'grafanaDashboard.enabled=true',
      '--set',
      'crds.install=false',
    );
    expect(find(objects, 'CustomResourceDefinition')).toEqual([]);
    const [monitor] = find(objects, 'ServiceMonitor') as Array<K8sObject & { spec: Loose }>;
    // honorLabels keeps each token's own namespace label; the secure endpoint takes Prometheus' token over HTTPS.
    expect(monitor!.spec.endpoints).toEqual([
      expect.objectContaining({
        port: 'metrics',
        honorLabels: true,
        scheme: 'https',
        bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
        tlsConfig: { insecureSkipVerify: true },
      }),
    ]);
    const [rule] = find(objects, 'PrometheusRule') as Array<K8sObject & { spec: Loose }>;
    const alerts = rule!.spec.groups[0].rules.map((r: { alert: string }) => r.alert);
    expect(alerts.sort()).toEqual([
      'TokensyncNoLeader',
      'TokensyncReconcileErrors',
      'TokensyncTokenExpired',
      'TokensyncTokenNotReady',
      'TokensyncTokenRenewalOverdue',
      'TokensyncUpstreamErrors',
    ]);
    for (const r of rule!.spec.groups[0].rules) {
      expect(r.expr).toMatch(/tokensync_/);
      expect(r.annotations.runbook_url).toMatch(/operations\.md#/);
    }
    const [dashboard] = find(objects, 'ConfigMap', 'tokensync-dashboard') as Array<
      K8sObject & { data: Record<string, string> }
    >;
    const json = JSON.parse(dashboard!.data['tokensync.json']!);
    expect(json.panels.length).toBeGreaterThanOrEqual(8);
  });
});

describe('values.schema.json', () => {
  const rejects = async (args: string[], message: RegExp) => {
    const r = await helm(['template', 'x', CHART, '--kube-version', KUBE_VERSION, ...args]);
    expect(r.code, `accepted ${args.join(' ')}`).not.toBe(0);
    expect(r.stderr).toMatch(message);
  };

  it('rejects a string replica count', () => rejects(['--set-string', 'replicaCount=two'], /replicaCount/));
  it('rejects an unknown top-level key', () =>
    rejects(['--set', 'replicas=2'], /additional properties 'replicas' not allowed|replicas/));
  it('rejects an unknown log level', () => rejects(['--set', 'logLevel=loud'], /logLevel/));
  it('rejects a bad duration', () => rejects(['--set', 'leaderElection.leaseDuration=15 seconds'], /leaseDuration/));
  it('rejects zero replicas', () => rejects(['--set', 'replicaCount=0'], /replicaCount/));
  it('rejects an unknown nested key', () =>
    rejects(['--set', 'metrics.servicemonitor.enabled=true'], /servicemonitor/));
  it('rejects a cluster range that is not a CIDR', () =>
    rejects(['--set', 'egress.clusterServiceCIDRs={10.96.0.0}'], /clusterServiceCIDRs/));
  it('rejects an egress allow entry with a scheme', () =>
    rejects(['--set', 'egress.allow={https://vault.corp}'], /egress/));
  it('rejects an egress value given as a string instead of a list', () =>
    rejects(['--set', 'egress.deny=0.0.0.0/0'], /deny/));
});

describe('against a real API server', () => {
  beforeAll(async () => {
    const r = await cp.kubectl(['create', 'namespace', NS]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('the default and single-namespace renders pass server-side dry-run', async () => {
    const created = await cp.kubectl(['create', 'namespace', 'apps']);
    expect(created.code, created.stderr).toBe(0);
    for (const extra of [[], ['--set', 'watchNamespace=apps']]) {
      // CRDs first: dry-run does not create them, so the rest cannot depend on them (and does not).
      const { yaml } = await template(...extra);
      const r = await cp.kubectl(['apply', '--dry-run=server', '--server-side', '-f', '-'], { input: yaml });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('deployment.apps/tokensync serverside-applied (server dry run)');
    }
  });

  it('the kustomize base and overlay pass server-side dry-run', async () => {
    const created = await cp.kubectl(['create', 'namespace', 'my-app']);
    expect(created.code, created.stderr).toBe(0);
    for (const dir of ['deploy/base', 'deploy/overlays/single-namespace']) {
      const built = await cp.kubectl(['kustomize', join(REPO_ROOT, dir)]);
      expect(built.code, built.stderr).toBe(0);
      const r = await cp.kubectl(['apply', '--dry-run=server', '--server-side', '-f', '-'], { input: built.stdout });
      expect(r.code, `${dir}: ${r.stderr}`).toBe(0);
    }
  });

  it('installs, upgrades and uninstalls with helm; the CRDs survive the uninstall', async () => {
    const chart = await installableChart();
    const install = await helm(['install', 'tokensync', chart, '-n', NS]);
    expect(install.code, install.stderr).toBe(0);
    const crds = await cp.kubectl(['get', 'crd', '-o', 'name']);
    expect(crds.stdout).toContain('serviceaccounttokens.tokensync.io');
    // The first CredentialsProvider and ServiceAccountToken that NOTES.txt shows are valid against the CRDs.
    const examples = [...install.stdout.matchAll(/cat <<'YAML' \| kubectl apply -f -\n([\s\S]*?)\n\s*YAML\n/g)].map(
      (m) => m[1]!.replace(/^ {2}/gm, ''),
    );
    expect(examples.map((e) => /kind: (\w+)/.exec(e)?.[1])).toEqual(['CredentialsProvider', 'ServiceAccountToken']);
    for (const example of examples) {
      const r = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: example });
      expect(r.code, `${example}\n${r.stderr}`).toBe(0);
    }
    const upgrade = await helm(['upgrade', 'tokensync', chart, '-n', NS, '--set', 'logLevel=debug']);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    const args = await cp.kubectl([
      '-n',
      NS,
      'get',
      'deployment',
      'tokensync',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].args}',
    ]);
    expect(args.stdout).toContain('--log-level=debug');
    const uninstall = await helm(['uninstall', 'tokensync', '-n', NS]);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect(uninstall.stdout + uninstall.stderr).toMatch(/kept due to the resource policy/);
    const after = await cp.kubectl(['get', 'crd', 'serviceaccounttokens.tokensync.io', '-o', 'name']);
    expect(after.code, after.stderr).toBe(0);
    const deployment = await cp.kubectl(['-n', NS, 'get', 'deployment', 'tokensync']);
    expect(deployment.code).not.toBe(0);
  });
});

describe('kubectl plugin against the CRDs the chart installed', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return Object.assign(out, {
      out: (t: string) => {
        out.stdout += t;
      },
      err: (t: string) => {
        out.stderr += t;
      },
      isTTY: false,
      env: {},
      now: () => new Date(),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    });
  };

  it('status lists a fresh ServiceAccountToken and renew sets its annotation on the real API server', async () => {
    const sat = {
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: { name: 'reporting', namespace: 'my-app' },
      spec: { providerRef: { name: 'iomete-prod' }, serviceAccount: 'sa-123', lifetime: '720h' },
    };
    const created = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(sat) });
    expect(created.code, created.stderr).toBe(0);
    const { run: status } = await import('../../../src/cli/plugin/status.ts');
    const { run: renew } = await import('../../../src/cli/plugin/renew.ts');
    const listed = io();
    expect(await status(['--kubeconfig', cp.kubeconfigPath, '-A'], listed)).toBe(0);
    expect(listed.stdout.split('\n')[1]!.split(/\s{3,}/)).toEqual([
      'my-app',
      'reporting',
      '-',
      'reporting',
      '-',
      '-',
      '-',
    ]);
    expect(await renew(['reporting', '-n', 'my-app', '--kubeconfig', cp.kubeconfigPath], io())).toBe(0);
    const annotation = await cp.kubectl([
      '-n',
      'my-app',
      'get',
      'sat',
      'reporting',
      '-o',
      'jsonpath={.metadata.annotations.tokensync\\.io/renew-requested-at}',
    ]);
    expect(Date.parse(annotation.stdout)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('RBAC of the rendered chart', () => {
  // What the controller must be able to do, as `kubectl auth can-i` arguments.
  const needed = [
    ['list', 'serviceaccounttokens.tokensync.io'],
    ['watch', 'serviceaccounttokens.tokensync.io'],
    ['patch', 'serviceaccounttokens.tokensync.io'],
    ['patch', 'serviceaccounttokens.tokensync.io', '--subresource=status'],
    ['update', 'serviceaccounttokens.tokensync.io', '--subresource=finalizers'],
    ['list', 'credentialsproviders.tokensync.io'],
    ['patch', 'credentialsproviders.tokensync.io'],
    ['patch', 'credentialsproviders.tokensync.io', '--subresource=status'],
    ['get', 'secrets'],
    ['create', 'secrets'],
    ['patch', 'secrets'],
    ['delete', 'secrets'],
    ['watch', 'secrets'],
    ['create', 'events.events.k8s.io'],
  ];
  // Only with restartTargets.enabled=true: restart (patch), selector targets (list), the rollout gate (get).
  const restarts = ['deployments.apps', 'statefulsets.apps', 'daemonsets.apps', 'rollouts.argoproj.io'].flatMap(
    (resource) => ['get', 'list', 'patch'].map((verb) => [verb, resource]),
  );
  // Secure metrics (the default): cluster-scoped reviews, granted by the tokensync-metrics-auth ClusterRole.
  const metricsAuthNeeded = [
    ['create', 'tokenreviews.authentication.k8s.io'],
    ['create', 'subjectaccessreviews.authorization.k8s.io'],
  ];
  const clusterNeeded = [
    ['watch', 'clustercredentialsproviders.tokensync.io'],
    ['patch', 'clustercredentialsproviders.tokensync.io'],
    ['patch', 'clustercredentialsproviders.tokensync.io', '--subresource=status'],
    ['get', 'namespaces'],
  ];
  const forbidden = [
    ['get', 'pods'],
    ['create', 'pods'],
    ['get', 'configmaps'],
    ['create', 'clusterroles.rbac.authorization.k8s.io'],
    ['create', 'rolebindings.rbac.authorization.k8s.io'],
    ['delete', 'serviceaccounttokens.tokensync.io'],
    // Every write is a create, a patch or a delete: no update, which would overwrite what others wrote.
    ['update', 'secrets'],
    ['update', 'serviceaccounttokens.tokensync.io'],
    ['update', 'serviceaccounttokens.tokensync.io', '--subresource=status'],
    ['list', 'namespaces'],
    ['create', 'credentialsproviders.tokensync.io'],
    ['delete', 'deployments.apps'],
    ['get', 'deployments.apps'],
    ['create', 'serviceaccounts', '--subresource=token'],
    ['delete', 'namespaces'],
    ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
  ];

  async function canI(args: string[], options: { as?: string; kubeconfig?: string; namespace?: string }) {
    const r = await cp.kubectl(
      [
        'auth',
        'can-i',
        ...args,
        ...(options.namespace ? ['-n', options.namespace] : ['--all-namespaces']),
        ...(options.as ? [`--as=${options.as}`] : []),
      ],
      options.kubeconfig ? { kubeconfig: options.kubeconfig } : undefined,
    );
    return r.stdout.trim();
  }

  async function applyRbac(...extra: string[]) {
    const { objects } = await template(...extra);
    // The CRDs too (idempotent): can-i resolves tokensync.io resources through discovery, and argoproj.io rollouts
    // (not installed on a bare API server: a minimal CRD of the same group and kind).
    const rbac = [...objects.filter((o) => /Role|ServiceAccount|CustomResourceDefinition/.test(o.kind)), ROLLOUT_CRD];
    const r = await cp.kubectl(['apply', '-f', '-'], { input: rbac.map((o) => JSON.stringify(o)).join('\n') });
    expect(r.code, r.stderr).toBe(0);
    return objects;
  }

  it('cluster mode: the ServiceAccount may do what the controller needs, and nothing else', async () => {
    await cp.kubectl(['create', 'namespace', NS]);
    await applyRbac();
    for (const args of [...needed, ...clusterNeeded, ...metricsAuthNeeded]) {
      expect(await canI(args, { as: SA }), args.join(' ')).toBe('yes');
    }
    for (const args of [...forbidden, ...restarts]) expect(await canI(args, { as: SA }), args.join(' ')).toBe('no');
    // Leases: in the release namespace only.
    expect(await canI(['update', 'leases.coordination.k8s.io'], { as: SA, namespace: NS })).toBe('yes');
    expect(await canI(['update', 'leases.coordination.k8s.io'], { as: SA, namespace: 'kube-system' })).toBe('no');
    expect(await canI(['delete', 'leases.coordination.k8s.io'], { as: SA, namespace: NS })).toBe('no');
  });

  it('workload restarts are an opt-in grant: workloads only with restartTargets.enabled', async () => {
    await applyRbac('--set', 'restartTargets.enabled=true');
    for (const args of restarts) expect(await canI(args, { as: SA }), args.join(' ')).toBe('yes');
    for (const verb of ['watch', 'update', 'delete', 'create']) {
      expect(await canI([verb, 'deployments.apps'], { as: SA }), verb).toBe('no');
    }
    expect(await canI(['get', 'pods'], { as: SA })).toBe('no');
    await applyRbac();
    for (const args of restarts) expect(await canI(args, { as: SA }), args.join(' ')).toBe('no');
  });

  it('a user bound only to the rendered ClusterRole gets exactly its rules', async () => {
    const kubeconfig = await cp.createUser('rbac-probe', ['rbac-probes']);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'rbac-probe' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tokensync' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'rbac-probe' }],
    };
    const r = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(binding) });
    expect(r.code, r.stderr).toBe(0);
    for (const args of [...needed, ...clusterNeeded])
      expect(await canI(args, { kubeconfig }), args.join(' ')).toBe('yes');
    for (const args of [...forbidden, ...restarts]) expect(await canI(args, { kubeconfig }), args.join(' ')).toBe('no');
    expect(await canI(['update', 'leases.coordination.k8s.io'], { kubeconfig, namespace: NS })).toBe('no');
  });

  it('namespaced mode: secrets and tokens only in the served namespaces', async () => {
    await cp.kubectl(['delete', 'clusterrolebinding', 'tokensync', 'rbac-probe']);
    await cp.kubectl(['delete', 'clusterrole', 'tokensync']);
    await cp.kubectl(['create', 'namespace', 'team-a']);
    await cp.kubectl(['create', 'namespace', 'team-b']);
    await applyRbac('--set', 'watchNamespaces={team-a,team-b}');
    for (const args of needed) {
      for (const ns of ['team-a', 'team-b'])
        expect(await canI(args, { as: SA, namespace: ns }), `${args.join(' ')} in ${ns}`).toBe('yes');
      expect(await canI(args, { as: SA, namespace: 'kube-system' }), `${args.join(' ')} in kube-system`).toBe('no');
    }
    for (const args of [...clusterNeeded, ...metricsAuthNeeded]) {
      expect(await canI(args, { as: SA }), args.join(' ')).toBe('yes');
    }
    expect(await canI(['delete', 'secrets'], { as: SA })).toBe('no');
    for (const args of forbidden) expect(await canI(args, { as: SA, namespace: 'team-a' }), args.join(' ')).toBe('no');
  });
});
