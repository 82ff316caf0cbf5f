// The test control plane itself (test/support/control-plane.ts), with every option on: the audit log counts writes,
// kube-controller-manager garbage-collects owned objects and deletes namespaces, and stop() leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true, auditWrites: true });
});
afterAll(async () => {
  await cp?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${cp.logs(20)}`);
    await sleep(200);
  }
}

describe('startControlPlane({ controllerManager, auditWrites })', () => {
  it('logs each write once, with verb, user and object, and no reads', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'audited' } } });
    await core.createNamespacedConfigMap({ namespace: 'audited', body: { metadata: { name: 'a' }, data: { k: 'v' } } });
    await core.patchNamespacedConfigMap({
      namespace: 'audited',
      name: 'a',
      body: [{ op: 'add', path: '/data/x', value: 'y' }],
    });
    await core.readNamespacedConfigMap({ namespace: 'audited', name: 'a' });
    await core.listNamespacedConfigMap({ namespace: 'audited' });
    await core.deleteNamespacedConfigMap({ namespace: 'audited', name: 'a' });

    const configMapWrites = () =>
      cp.auditEvents().filter((e) => e.objectRef?.resource === 'configmaps' && e.objectRef.namespace === 'audited');
    await until('three configmap writes in the audit log', () => configMapWrites().length >= 3, 10_000);
    const writes = configMapWrites();
    expect(writes.map((e) => e.verb)).toEqual(['create', 'patch', 'delete']);
    expect(writes.every((e) => e.user.username === 'tokensync-admin' && e.stage === 'ResponseComplete')).toBe(true);
    expect(writes.map((e) => e.responseStatus?.code)).toEqual([201, 200, 200]);
    expect(cp.auditLogPath && existsSync(cp.auditLogPath)).toBe(true);
  });

  it('garbage-collects objects whose owner is deleted', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'owner' } } });
    await core.createNamespacedSecret({
      namespace: 'default',
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
        },
        stringData: { token: 'x' },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'owner' });
    await until('the owned Secret to be garbage-collected', async () => {
      const list = await core.listNamespacedSecret({ namespace: 'default' });
      return !list.items.some((s) => s.metadata?.name === 'owned');
    });
  });

  it('deletes a namespace and its contents', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedSecret({
      namespace: 'doomed',
      body: { metadata: { name: 's' }, stringData: { a: 'b' } },
    });
    await core.deleteNamespace({ name: 'doomed' });
    await until('namespace doomed to be gone', async () => {
      const list = await core.listNamespace();
      return !list.items.some((n) => n.metadata?.name === 'doomed');
    });
  });

  it('stop() ends every component and removes its directory', async () => {
    const other = await startControlPlane({ crds: false });
    const pidsOf = () =>
      execFileSync('sh', ['-c', `ps -eo pid,args | grep -F -- '${other.dir}' | grep -v grep || true`], {
        encoding: 'utf8',
      }).trim();
    expect(pidsOf()).not.toBe('');
    await other.stop();
    expect(pidsOf()).toBe('');
    expect(existsSync(other.dir)).toBe(false);
    await other.stop(); // idempotent
  });
});
