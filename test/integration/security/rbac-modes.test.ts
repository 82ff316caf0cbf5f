// The chart's RBAC, proven both ways in each mode against a real API server: the whole lifecycle runs as the rendered
// ServiceAccount (the real controller process, with the chart's own arguments), then the API server's audit log of
// that identity shows that no request was forbidden and that every granted rule was exercised. A rule nobody uses
// fails this test as surely as a missing one.
//
// The OwnerReferencesPermissionEnforcement admission plugin is on, as on many production clusters: creating a token
// Secret with a blockOwnerDeletion owner reference then needs `update` on serviceaccounttokens/finalizers, a rule no
// request exercises directly (the plugin checks it inside the Secret create), so it is the one exemption below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../../../src/kube/client.ts';
import { installRolloutCrd, rollout } from '../../support/argo-rollouts.ts';
import { helmTemplate, RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import type { AuditEvent } from '../../support/control-plane.ts';
import { Harness, isReady, waitFor } from '../controller/harness.ts';
import { ControllerProcess } from '../controller/process.ts';
import { bindMetricsReaders, scrape, serviceAccountToken } from '../monitoring/support.ts';

const SA_USER = `system:serviceaccount:${RELEASE_NAMESPACE}:tokensync`;
const CREDENTIAL = { 'tokensync.io/credential': 'true' };

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface Granted {
  group: string;
  resource: string;
  verb: string;
  /** undefined: a ClusterRole bound cluster-wide (any namespace, or none). */
  namespace: string | undefined;
  role: string;
}

/** Every (group, resource, verb, scope) the rendered Roles and ClusterRoles bound to the ServiceAccount grant. */
function grantsOf(objects: Array<Record<string, unknown>>): Granted[] {
  const roles = new Map<string, Rule[]>();
  for (const o of objects) {
    const meta = o['metadata'] as { name: string; namespace?: string };
    if (o['kind'] === 'ClusterRole') roles.set(`ClusterRole/${meta.name}`, o['rules'] as Rule[]);
    if (o['kind'] === 'Role') roles.set(`Role/${meta.namespace}/${meta.name}`, o['rules'] as Rule[]);
  }
  const granted: Granted[] = [];
  for (const o of objects) {
    if (o['kind'] !== 'RoleBinding' && o['kind'] !== 'ClusterRoleBinding') continue;
    const subjects = o['subjects'] as Array<{ kind: string; name: string; namespace?: string }>;
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === 'tokensync')) continue;
    const meta = o['metadata'] as { namespace?: string };
    const ref = o['roleRef'] as { kind: string; name: string };
    const key = ref.kind === 'ClusterRole' ? `ClusterRole/${ref.name}` : `Role/${meta.namespace}/${ref.name}`;
    for (const rule of roles.get(key) ?? []) {
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs)
            granted.push({
              group,
              resource,
              verb,
              namespace: o['kind'] === 'RoleBinding' ? meta.namespace : undefined,
              role: key,
            });
    }
  }
  return granted;
}

const resourceOf = (e: AuditEvent) =>
  `${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;

function exercised(g: Granted, requests: AuditEvent[]): boolean {
  return requests.some(
    (e) =>
      e.verb === g.verb &&
      (e.objectRef?.apiGroup ?? '') === g.group &&
      resourceOf(e) === g.resource &&
      (g.namespace === undefined || e.objectRef?.namespace === g.namespace),
  );
}

/** Exercised only inside another request, by an admission plugin (see the file comment). */
const INDIRECT = new Set(['tokensync.io serviceaccounttokens/finalizers update']);

/** Runs the chart-rendered controller and a lifecycle that should use every rule of `mode`. */
function rbacMode(mode: {
  title: string;
  chart: string[];
  served: string[];
  restarts: boolean;
  /** A namespace the controller must not touch (namespaced mode). */
  outside?: string;
}) {
  describe(mode.title, () => {
    const h = new Harness();
    let controller: ControllerProcess;
    let granted: Granted[];
    let reader: string;

    beforeAll(async () => {
      await h.start({
        chart: mode.chart,
        auditUsers: [SA_USER],
        admissionPlugins: ['OwnerReferencesPermissionEnforcement'],
        namespaces: mode.served,
      });
      const set = mode.chart.flatMap((v) => ['--set', v]);
      const objects = await helmTemplate(h.cp, set);
      granted = grantsOf(objects);
      const deployment = objects.find((o) => o['kind'] === 'Deployment') as {
        spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
      };
      // The chart's own arguments (mode, leader election, secure metrics, restarts), then free loopback ports.
      const args = deployment.spec.template.spec.containers[0]!.args.filter((a) => a !== 'controller');
      controller = new ControllerProcess(
        h.controllerKubeconfigPath,
        [...args, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0'],
        { POD_NAMESPACE: RELEASE_NAMESPACE, POD_NAME: 'tokensync-rbac-test' },
      );
      // Argo Rollouts' CRD, so that restarting, listing and reading Rollouts is exercised like the apps/v1 kinds.
      if (mode.restarts) await installRolloutCrd(h.cp);
      reader = await serviceAccountToken(h.cp, 'monitoring', 'prometheus');
      await bindMetricsReaders(h.cp, [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }]);
      await controller.synced(60_000);
    }, 300_000);

    afterAll(async () => {
      await controller?.kill('SIGTERM');
      await h.stop();
    });

    it('runs the whole lifecycle as the rendered ServiceAccount, in every served namespace', async () => {
      for (const n of [...mode.served, ...(mode.outside ? [mode.outside] : [])]) {
        await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, labels: { tenant: 'yes' } } });
      }
      // A cluster provider whose credential lives in the release namespace (the only place namespaced mode can read
      // it from), used from the first served namespace.
      await h.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'platform-admin', namespace: RELEASE_NAMESPACE, labels: CREDENTIAL },
        stringData: { token: h.api.adminKey },
      });
      await h.apply({
        apiVersion: 'tokensync.io/v1alpha1',
        kind: 'ClusterCredentialsProvider',
        metadata: { name: 'platform' },
        spec: {
          type: 'reference',
          url: h.api.url,
          allowInsecureHttp: true,
          auth: { secretRef: { name: 'platform-admin', key: 'token', namespace: RELEASE_NAMESPACE } },
          namespaceSelector: { matchLabels: { tenant: 'yes' } },
        },
      });
      const first = mode.served[0]!;
      await h.createToken(first, 'platform', { providerRef: { kind: 'ClusterCredentialsProvider', name: 'platform' } });
      await waitFor('platform Ready', async () => isReady(await h.getToken(first, 'platform')), 60_000);

      // Each served namespace runs the namespaced part of the lifecycle: a Role per namespace must each be used.
      for (const ns of mode.served) await namespacedLifecycle(h, ns, mode.restarts);

      // A token outside the served namespaces is not seen at all.
      if (mode.outside) {
        await h.apply({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'admin', namespace: mode.outside, labels: CREDENTIAL },
          stringData: { token: h.api.adminKey },
        });
        await h.createToken(mode.outside, 'ignored', {
          providerRef: { kind: 'ClusterCredentialsProvider', name: 'platform' },
        });
      }

      // Metrics behind TokenReview + SubjectAccessReview.
      const scraped = await scrape(`${controller.metricsUrl}/metrics`, reader);
      expect(scraped.status).toBe(200);

      // The cluster provider: its token goes, then it can go, and its credential Secret is released.
      await h.deleteToken(first, 'platform');
      await kubeRequest(h.kc, {
        method: 'DELETE',
        path: '/apis/tokensync.io/v1alpha1/clustercredentialsproviders/platform',
      });
      await waitFor(
        'cluster provider gone',
        async () =>
          (
            await kubeRequest<{ items: unknown[] }>(h.kc, {
              method: 'GET',
              path: '/apis/tokensync.io/v1alpha1/clustercredentialsproviders',
            })
          ).items.length === 0,
        60_000,
      );
      await waitFor(
        'credential Secret released',
        async () => !(await finalizersOf(h, RELEASE_NAMESPACE, 'platform-admin')).length,
      );
      expect(
        (await h.liveTokens()).filter((t) => !t.name.startsWith('ignored')).map((t) => t.name),
        'every token the lifecycle minted is revoked',
      ).toEqual([]);
    });

    it('made no request the API server forbade, and used every rule it was granted', async () => {
      // The API server may log an event just after the response: let the last ones land.
      await new Promise((r) => setTimeout(r, 1000));
      const requests = h.cp.auditRequests(SA_USER);
      expect(requests.length).toBeGreaterThan(50);
      const forbidden = requests.filter((e) => e.responseStatus?.code === 403);
      expect(
        forbidden.map(
          (e) => `${e.verb} ${e.objectRef?.apiGroup ?? ''}/${resourceOf(e)} in ${e.objectRef?.namespace ?? '-'}`,
        ),
      ).toEqual([]);
      const unused = granted
        .filter((g) => !INDIRECT.has(`${g.group} ${g.resource} ${g.verb}`) && !exercised(g, requests))
        .map((g) => `${g.role}: ${g.verb} ${g.group}/${g.resource}${g.namespace ? ` in ${g.namespace}` : ''}`);
      expect(unused).toEqual([]);
      if (mode.outside) {
        const touched = requests.filter((e) => e.objectRef?.namespace === mode.outside);
        expect(touched.map((e) => `${e.verb} ${resourceOf(e)}`)).toEqual([]);
        expect((await h.getToken(mode.outside, 'ignored'))?.status).toBeUndefined();
      }
      if (!mode.restarts) {
        const workloadGroups = new Set(['apps', 'argoproj.io']);
        expect(requests.filter((e) => workloadGroups.has(e.objectRef?.apiGroup ?? ''))).toEqual([]);
      }
    });
  });
}

/**
 * The namespaced part: a provider and its credential; a token that rotates (journal, Secret replace, grace, revoke)
 * and restarts workloads, named and by label selector of every kind (patch, list), the rollout gate reading their
 * status (get) while the old token waits; one whose Secret is relabelled and then deleted (repair); one that fails repeatedly (an
 * Event series: create, then patch); then deletion of everything, which releases the provider and its credential.
 */
async function namespacedLifecycle(h: Harness, ns: string, restartsEnabled: boolean): Promise<void> {
  await h.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'admin', namespace: ns, labels: CREDENTIAL },
    stringData: { token: h.api.adminKey },
  });
  await h.apply({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name: 'reference', namespace: ns },
    spec: {
      type: 'reference',
      url: h.api.url,
      allowInsecureHttp: true,
      auth: { secretRef: { name: 'admin', key: 'token' } },
    },
  });
  const workloads = restartsEnabled
    ? [
        { kind: 'Deployment', name: 'reporter' },
        { kind: 'StatefulSet', name: 'indexer' },
        { kind: 'DaemonSet', name: 'agent' },
        { kind: 'Rollout', name: 'canary' },
      ]
    : [{ kind: 'Deployment', name: 'reporter' }];
  for (const w of workloads) {
    await h.apply(w.kind === 'Rollout' ? rollout(w.name, ns, RESTART_ME) : workload(w.kind, w.name, ns));
  }
  const selected = { matchLabels: RESTART_ME };
  await h.createToken(ns, 'rotating', {
    lifetime: '1m',
    renewBeforePercentage: 90,
    // Long enough that the rollout gate reads the workloads (nothing rolls them out here) before revokeAt.
    rotation: { gracePeriod: '3s' },
    restartTargets: restartsEnabled
      ? [
          { kind: 'Deployment', name: 'reporter' },
          ...['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'].map((kind) => ({ kind, selector: selected })),
        ]
      : workloads,
  });
  // The new field name (the other tokens use the former one, still accepted).
  await h.createToken(ns, 'labelled', { upstreamServiceAccount: 'sa-test', secret: { labels: { team: 'a' } } });
  for (const name of ['rotating', 'labelled']) {
    await waitFor(`${ns}/${name} Ready`, async () => isReady(await h.getToken(ns, name)), 60_000);
  }
  await h.createToken(ns, 'labelled', { upstreamServiceAccount: 'sa-test', secret: { labels: { team: 'b' } } });
  await waitFor('Secret relabelled', async () => (await secretLabels(h, ns, 'labelled'))?.['team'] === 'b');
  await kubeRequest(h.kc, { method: 'DELETE', path: `/api/v1/namespaces/${ns}/secrets/labelled` });
  await waitFor('Secret repaired', async () => (await h.getSecretData(ns, 'labelled'))?.['token'] !== undefined);

  await h.admin('PUT', '/_faults', { errorRate: 1 });
  await h.createToken(ns, 'failing');
  await waitFor(
    'three failures',
    async () => ((await h.getToken(ns, 'failing'))?.status?.failureCount ?? 0) >= 3,
    60_000,
  );
  await h.admin('DELETE', '/_faults');

  const rotated = await waitFor(
    'a rotation finished',
    async () => {
      const s = await h.getToken(ns, 'rotating');
      return (s?.status?.revision ?? 0) >= 2 && !s?.status?.retiring?.length && isReady(s) ? s : undefined;
    },
    90_000,
  );
  expect(rotated.status?.conditions?.find((c) => c.type === 'RestartTargets')).toMatchObject(
    restartsEnabled ? { status: 'True', reason: 'RestartsEnabled' } : { status: 'False', reason: 'RestartsDisabled' },
  );
  if (restartsEnabled) {
    await waitFor('workloads restarted', async () => {
      for (const w of workloads) {
        const group = w.kind === 'Rollout' ? 'argoproj.io/v1alpha1' : 'apps/v1';
        const o = await kubeRequest<{
          spec: { restartAt?: string; template: { metadata: { annotations?: Record<string, string> } } };
        }>(h.kc, { method: 'GET', path: `/apis/${group}/namespaces/${ns}/${w.kind.toLowerCase()}s/${w.name}` });
        const restarted =
          w.kind === 'Rollout' ? o.spec.restartAt : o.spec.template.metadata.annotations?.['tokensync.io/restartedAt'];
        if (!restarted) return false;
      }
      return true;
    });
  }

  for (const name of ['rotating', 'labelled', 'failing']) await h.deleteToken(ns, name);
  await waitFor('tokens gone', async () => {
    for (const name of ['rotating', 'labelled', 'failing']) if (await h.getToken(ns, name)) return false;
    return true;
  });
  await kubeRequest(h.kc, {
    method: 'DELETE',
    path: `/apis/tokensync.io/v1alpha1/namespaces/${ns}/credentialsproviders/reference`,
  });
  await waitFor(
    'provider gone',
    async () =>
      (
        await kubeRequest<{ items: unknown[] }>(h.kc, {
          method: 'GET',
          path: `/apis/tokensync.io/v1alpha1/namespaces/${ns}/credentialsproviders`,
        })
      ).items.length === 0,
    60_000,
  );
  await waitFor('credential Secret released', async () => !(await finalizersOf(h, ns, 'admin')).length);
}

async function finalizersOf(h: Harness, namespace: string, name: string): Promise<string[]> {
  const s = await kubeRequest<{ metadata: { finalizers?: string[] } }>(h.kc, {
    method: 'GET',
    path: `/api/v1/namespaces/${namespace}/secrets/${name}`,
  });
  return s.metadata.finalizers ?? [];
}

/** The label the selector targets of the lifecycle match. */
const RESTART_ME = { 'restart-on-rotation': 'yes' };

function workload(kind: string, name: string, namespace: string): Record<string, unknown> {
  const template = {
    metadata: { labels: { app: name } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  };
  const spec: Record<string, unknown> = { selector: { matchLabels: { app: name } }, template };
  if (kind === 'StatefulSet') spec['serviceName'] = name;
  return { apiVersion: 'apps/v1', kind, metadata: { name, namespace, labels: RESTART_ME }, spec };
}

async function secretLabels(h: Harness, namespace: string, name: string) {
  const s = await kubeRequest<{ metadata: { labels?: Record<string, string> } }>(h.kc, {
    method: 'GET',
    path: `/api/v1/namespaces/${namespace}/secrets/${name}`,
  });
  return s.metadata.labels;
}

rbacMode({
  title: 'cluster-wide mode with workload restarts',
  chart: ['restartTargets.enabled=true'],
  served: ['apps-a', 'apps-b'],
  restarts: true,
});

rbacMode({
  title: 'namespaced mode (a Role in each served namespace), restarts off',
  chart: ['watchNamespaces={team-a,team-b}'],
  served: ['team-a', 'team-b'],
  restarts: false,
  outside: 'team-c',
});
