// Restart targets and the rollout gate on a real API server, with the controller running as the chart's
// ServiceAccount with restartTargets.enabled.
//
// There is no scheduler and no kubelet here. kube-controller-manager runs the real deployment and replicaset
// controllers, so a rollout restart creates a real ReplicaSet and Pod and the Deployment's status is computed by the
// deployment controller itself; the test plays only the kubelet's part: it marks a Pod Ready (its status subresource),
// as the kubelet does once the container's readiness probe passes. Unscheduled Pods are deleted at once when the
// old ReplicaSet is scaled down (no kubelet has to confirm), so a rollout completes as soon as the new Pod is Ready.
// Argo Rollouts' controller is not there either: for a Rollout the test writes the status that controller would
// (observedGeneration, phase Healthy, restartedAt), the part of it the gate reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../../../src/kube/client.ts';
import { installRolloutCrd, rollout } from '../../support/argo-rollouts.ts';
import { Harness, isReady, waitFor } from './harness.ts';

const h = new Harness();

beforeAll(async () => {
  await h.start({ chart: ['restartTargets.enabled=true'], controllers: ['deployment', 'replicaset'] });
  await installRolloutCrd(h.cp);
  await h.startController();
}, 180_000);

afterAll(async () => {
  await h.stop();
});

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: Array<{ name: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

function deployment(namespace: string, name: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      },
    },
  };
}

const pods = async (namespace: string, app: string) =>
  (
    await kubeRequest<{ items: Pod[] }>(h.kc, {
      method: 'GET',
      path: `/api/v1/namespaces/${namespace}/pods`,
      query: { labelSelector: `app=${app}` },
    })
  ).items;

const isPodReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** The kubelet's part: the container started and its readiness probe passed. */
async function markReady(namespace: string, pod: Pod): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
  await kubeRequest(h.kc, {
    method: 'PATCH',
    path: `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`,
    body: {
      status: {
        phase: 'Running',
        startTime: now,
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map(condition),
      },
    },
    contentType: 'application/merge-patch+json',
  });
}

/** Waits until the deployment controller reports every replica of the current template available. */
async function rolledOut(namespace: string, name: string): Promise<void> {
  await waitFor(`${name} rolled out`, async () => {
    const d = await kubeRequest<{
      metadata: { generation: number };
      status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number };
    }>(h.kc, { method: 'GET', path: `/apis/apps/v1/namespaces/${namespace}/deployments/${name}` });
    const s = d.status ?? {};
    return (
      s.observedGeneration === d.metadata.generation &&
      s.updatedReplicas === 1 &&
      s.availableReplicas === 1 &&
      s.replicas === 1
    );
  });
}

async function renew(namespace: string, name: string, spec: Record<string, unknown>, stamp: string): Promise<void> {
  await h.apply({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { name, namespace, annotations: { 'tokensync.io/renew-requested-at': stamp } },
    spec: h.tokenSpec(spec),
  });
}

async function tokenValue(namespace: string, name: string): Promise<string> {
  return (await h.getSecretData(namespace, name))!['token']!;
}

describe('the rollout gate', () => {
  it('keeps the old token live until the Deployment’s new pods are Ready, and revokes it right after', async () => {
    const ns = 'gate';
    await h.setupNamespace(ns);
    await h.apply(deployment(ns, 'web'));
    // Steady state: the first pod is Ready, the Deployment available.
    const first = await waitFor('the first pod', async () => (await pods(ns, 'web'))[0]);
    await markReady(ns, first);
    await rolledOut(ns, 'web');

    // A grace period far longer than the test: only the gate can revoke the old token early.
    const spec = { rotation: { gracePeriod: '30m' }, restartTargets: [{ kind: 'Deployment', name: 'web' }] };
    await h.createToken(ns, 'api', spec);
    await waitFor('Ready', async () => isReady(await h.getToken(ns, 'api')));
    const oldToken = await tokenValue(ns, 'api');

    await renew(ns, 'api', spec, 'rotate-1');
    await waitFor('rotated', async () => (await h.getToken(ns, 'api'))?.status?.revision === 2);
    const newToken = await tokenValue(ns, 'api');
    expect(newToken).not.toBe(oldToken);

    // The restart made a new ReplicaSet with a new pod, not Ready yet: the old pod still serves with the old token.
    const fresh = await waitFor('a new pod', async () =>
      (await pods(ns, 'web')).find((p) => p.metadata.name !== first.metadata.name),
    );
    expect(isPodReady(fresh)).toBe(false);
    // Longer than the gate's poll interval (5 s): the controller has looked and must have kept the old token.
    await new Promise((r) => setTimeout(r, 7_000));
    expect((await h.introspect(oldToken)).active).toBe(true);
    expect((await h.getToken(ns, 'api'))?.status?.retiring).toHaveLength(1);

    await markReady(ns, fresh);
    await rolledOut(ns, 'web');
    await waitFor('the old token revoked', async () => !(await h.introspect(oldToken)).active, 30_000);
    expect((await h.introspect(newToken)).active).toBe(true);
    const status = (await h.getToken(ns, 'api'))!.status!;
    expect(status.retiring).toBeUndefined();
    expect(status.restarts).toMatchObject({
      revision: 2,
      workloads: [{ kind: 'Deployment', name: 'web', result: 'Restarted', generation: 2 }],
    });
    const revoked = h.events.find((e) => e.name === 'api' && e.reason === 'Revoked');
    expect(revoked?.message).toMatch(/: every restart target rolled out \(the grace period would have ended at /);
  }, 120_000);

  it('revokes after an Argo Rollout is Healthy and restarted, as its controller reports it', async () => {
    const ns = 'gate-argo';
    await h.setupNamespace(ns);
    await h.apply(rollout('canary', ns));
    const spec = { rotation: { gracePeriod: '30m' }, restartTargets: [{ kind: 'Rollout', name: 'canary' }] };
    await h.createToken(ns, 'api', spec);
    await waitFor('Ready', async () => isReady(await h.getToken(ns, 'api')));
    const oldToken = await tokenValue(ns, 'api');
    await renew(ns, 'api', spec, 'rotate-1');
    const path = `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/canary`;
    const restarted = await waitFor('spec.restartAt set', async () => {
      const r = await kubeRequest<{ metadata: { generation: number }; spec: { restartAt?: string } }>(h.kc, {
        method: 'GET',
        path,
      });
      return r.spec.restartAt ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await h.introspect(oldToken)).active).toBe(true);

    // What the Rollout controller writes once every pod older than restartAt was replaced and the Rollout is Healthy.
    await kubeRequest(h.kc, {
      method: 'PATCH',
      path: `${path}/status`,
      body: {
        status: {
          observedGeneration: String(restarted.metadata.generation),
          phase: 'Healthy',
          restartedAt: restarted.spec.restartAt,
        },
      },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('the old token revoked', async () => !(await h.introspect(oldToken)).active, 30_000);
  }, 90_000);
});

describe('restart targets', () => {
  it('restarts every workload a selector matches, of each kind, and nothing else', async () => {
    const ns = 'selected';
    await h.setupNamespace(ns);
    const team = { team: 'payments' };
    await h.apply(deployment(ns, 'checkout', team));
    await h.apply(deployment(ns, 'ledger', team));
    await h.apply(deployment(ns, 'unrelated', { team: 'search' }));
    await h.apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'vault', namespace: ns, labels: team },
      spec: {
        serviceName: 'vault',
        selector: { matchLabels: { app: 'vault' } },
        template: {
          metadata: { labels: { app: 'vault' } },
          spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
        },
      },
    });
    await h.apply(rollout('storefront', ns, team));
    const spec = {
      restartTargets: ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'].map((kind) => ({
        kind,
        selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['payments'] }] },
      })),
      rotation: { gracePeriod: '1s' },
    };
    await h.createToken(ns, 'payments', spec);
    await waitFor('Ready', async () => isReady(await h.getToken(ns, 'payments')));
    expect(
      (await h.getToken(ns, 'payments'))?.status?.conditions?.find((c) => c.type === 'RestartTargets'),
    ).toMatchObject({
      status: 'True',
      message: expect.stringContaining('every Deployment matching team in (payments)'),
    });
    await renew(ns, 'payments', spec, 'rotate-1');
    const status = await waitFor('restarts recorded', async () => {
      const s = (await h.getToken(ns, 'payments'))?.status;
      return s?.restarts?.completedAt ? s : undefined;
    });
    expect(status.restarts?.workloads?.map((w) => `${w.kind}/${w.name}/${w.result}`).sort()).toEqual([
      'Deployment/checkout/Restarted',
      'Deployment/ledger/Restarted',
      'Rollout/storefront/Restarted',
      'StatefulSet/vault/Restarted',
    ]);
    const annotation = async (resource: string, name: string) =>
      (
        await kubeRequest<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(h.kc, {
          method: 'GET',
          path: `/apis/apps/v1/namespaces/${ns}/${resource}/${name}`,
        })
      ).spec.template.metadata.annotations?.['tokensync.io/restartedAt'];
    expect(await annotation('deployments', 'checkout')).toBeDefined();
    expect(await annotation('statefulsets', 'vault')).toBeDefined();
    expect(await annotation('deployments', 'unrelated')).toBeUndefined();
    const storefront = await kubeRequest<{ spec: { restartAt?: string } }>(h.kc, {
      method: 'GET',
      path: `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/storefront`,
    });
    expect(Date.parse(storefront.spec.restartAt!)).toBeGreaterThan(Date.now() - 120_000);
    const events = h.events.filter((e) => e.name === 'payments' && e.reason === 'RestartedWorkload');
    expect(events.filter((e) => e.type === 'Normal')).toHaveLength(4);
    expect(events.find((e) => e.type === 'Warning')?.message).toBe(
      'No DaemonSet matches team in (payments); nothing restarted',
    );
  }, 90_000);

  it('restarts a Deployment shared by five tokens that rotate together at most twice, not five times', async () => {
    const ns = 'batched';
    await h.setupNamespace(ns);
    await h.apply(deployment(ns, 'shared'));
    const spec = { restartTargets: [{ kind: 'Deployment', name: 'shared' }], rotation: { gracePeriod: '1s' } };
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) await h.createToken(ns, name, spec);
    for (const name of names) await waitFor(`${name} Ready`, async () => isReady(await h.getToken(ns, name)));
    const restartsBefore = await restartCount(ns);

    await Promise.all(names.map((name) => renew(ns, name, spec, 'together')));
    const generations = await waitFor(
      'every token recorded its restart',
      async () => {
        const out: number[] = [];
        for (const name of names) {
          const r = (await h.getToken(ns, name))?.status?.restarts;
          if (r?.revision !== 2 || !r.completedAt) return undefined;
          out.push(r.workloads![0]!.generation!);
        }
        return out;
      },
      60_000,
    );
    // The first token's restart at once; every token whose Secret was written after it began shares one restart at
    // the end of the 10 s window.
    expect((await restartCount(ns)) - restartsBefore).toBeLessThanOrEqual(2);
    expect(new Set(generations).size).toBeLessThanOrEqual(2);
    for (const name of names) {
      expect(h.events.some((e) => e.name === name && e.reason === 'RestartedWorkload' && e.type === 'Normal')).toBe(
        true,
      );
    }
  }, 120_000);
});

async function restartCount(namespace: string): Promise<number> {
  const metric = await h.metrics.workloadRestarts.get();
  return metric.values
    .filter((v) => v.labels['namespace'] === namespace && v.labels['result'] === 'restarted')
    .reduce((sum, v) => sum + v.value, 0);
}
