// The flags the manifests pass to `tokensync controller` must parse with the controller's own parser: a renamed or
// retyped flag (e.g. a boolean given `=true`) would otherwise only show up as a CrashLoopBackOff in a cluster.
// deploy/ is rendered from the chart (deploy-in-sync.test.ts), so this covers the chart's defaults too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseControllerFlags } from '../../../src/cli/controller-flags.ts';
import { findHelm, REPO_ROOT } from './helm.ts';
import { renderChart } from './render.ts';

interface Deployment {
  kind: string;
  spec: { template: { spec: { containers: Array<{ args: string[]; env: Array<{ name: string }> }> } } };
}

function deploymentOf(path: string): Deployment {
  const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, path), 'utf8')).map((d) => d.toJS() as Deployment);
  return docs.find((d) => d?.kind === 'Deployment')!;
}

describe('controller flags in the rendered manifests', () => {
  const container = deploymentOf('deploy/base/tokensync.yaml').spec.template.spec.containers[0]!;

  it('start the controller subcommand', () => {
    expect(container.args[0]).toBe('controller');
  });

  it('parse with the controller parser, with leader election on and the chart defaults', () => {
    const flags = parseControllerFlags(container.args.slice(1), {});
    expect(flags).toMatchObject({
      'leader-elect': true,
      'leader-election-id': 'tokensync-controller',
      'lease-duration': 15_000,
      'renew-deadline': 10_000,
      'retry-period': 2_000,
      'max-concurrent-reconciles': 4,
      'metrics-bind-address': ':8443',
      'metrics-secure': true,
      'token-metrics': 'all',
      'health-probe-bind-address': ':8081',
      'log-level': 'info',
      'log-format': 'json',
    });
    expect(flags.namespace).toBeUndefined();
  });

  it('give the Lease namespace through POD_NAMESPACE (the default of --leader-election-namespace)', () => {
    expect(container.env.map((e) => e.name)).toContain('POD_NAMESPACE');
  });
});

const helm = findHelm();
if ('reason' in helm && process.env['CI']) throw new Error(`chart sharding tests cannot run in CI: ${helm.reason}`);
if ('reason' in helm) console.warn(`[controller-args] sharded setup skipped: ${helm.reason}`);

describe.skipIf('reason' in helm)('the sharded setup (replicaCount=3, sharding.enabled=true)', () => {
  const render = (extra: string[] = []) =>
    renderChart((helm as { helm: string }).helm, [
      '--set',
      'replicaCount=3',
      '--set',
      'sharding.enabled=true',
      ...extra,
    ]);

  it('runs every replica sharded, without leader election, with the lease timings of leaderElection', () => {
    const deployment = render().find((o) => o.kind === 'Deployment') as unknown as Deployment & {
      spec: { replicas: number; strategy: { type: string } };
    };
    const args = deployment.spec.template.spec.containers[0]!.args;
    const flags = parseControllerFlags(args.slice(1), {});
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy.type).toBe('RollingUpdate');
    expect(flags).toMatchObject({
      sharding: true,
      'leader-elect': false,
      shards: 16,
      'shard-lease-prefix': 'tokensync',
      'lease-duration': 15_000,
      'renew-deadline': 10_000,
      'retry-period': 2_000,
    });
  });

  it('lets the controller list and delete Leases in the release namespace (member and shard Leases)', () => {
    const role = render().find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-leader-election')) as unknown as {
      metadata: { namespace: string };
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    expect(role.metadata.namespace).toBe('tokensync-system');
    expect(role.rules).toEqual([
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'list', 'create', 'update', 'delete'],
      },
    ]);
  });

  it('turns TokensyncNoLeader into "some shard is held by nobody" (no pod leads when sharded)', () => {
    const [rule] = render(['--set', 'metrics.prometheusRule.enabled=true']).filter((o) => o.kind === 'PrometheusRule');
    const alert = JSON.stringify(rule)
      .split('"alert":')
      .find((a) => a.startsWith('"TokensyncNoLeader"'));
    expect(alert).toContain('sum(tokensync_shards_owned{job=\\"tokensync-metrics\\"}) < 16');
    expect(alert).not.toContain('tokensync_leader');
  });

  it('still refuses several replicas with neither leader election nor sharding', () => {
    expect(() =>
      renderChart((helm as { helm: string }).helm, [
        '--set',
        'replicaCount=3',
        '--set',
        'leaderElection.enabled=false',
      ]),
    ).toThrow(/needs replicaCount=1/);
    expect(() => render(['--set', 'leaderElection.enabled=false'])).not.toThrow();
  });
});
