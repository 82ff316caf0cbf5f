import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConflict, isNotFound } from '../../../src/kube/client.ts';
import { type KubeConfig, loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import {
  deleteObject,
  getObject,
  type KubeObject,
  patchMerge,
  patchStatus,
  serverSideApply,
} from '../../support/kube-verbs.ts';

let cp: ControlPlane;
let kc: KubeConfig;
const ns = 'client-test';

async function expectApiError(p: Promise<unknown>, predicate: (e: unknown) => boolean): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected the call to fail').toBeDefined();
  expect(predicate(caught), String(caught)).toBe(true);
}

beforeAll(async () => {
  cp = await startControlPlane();
  kc = loadKubeConfig({ kubeconfig: cp.kubeconfigPath });
  const r = await cp.kubectl(['create', 'namespace', ns]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await cp?.stop();
});

describe('loadKubeConfig', () => {
  it('loads an explicit kubeconfig path', () => {
    expect(loadKubeConfig({ kubeconfig: cp.kubeconfigPath }).getCurrentCluster()?.server).toBe(cp.server);
  });

  it('falls back to $KUBECONFIG and honours an explicit context', () => {
    const cfg = loadKubeConfig({ kubeconfig: cp.kubeconfigPath });
    const other = structuredClone(cfg.contexts[0]!);
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const path = join(dir, 'config');
    // A second context pointing at a bogus server: selecting it proves the context option is applied.
    const doc = JSON.parse(cfg.exportConfig());
    doc.clusters.push({ name: 'bogus', cluster: { server: 'https://127.0.0.1:1' } });
    doc.contexts.push({ name: 'bogus', context: { cluster: 'bogus', user: other.user } });
    writeFileSync(path, JSON.stringify(doc));
    const saved = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = path;
    try {
      expect(loadKubeConfig().getCurrentCluster()?.server).toBe(cp.server);
      expect(loadKubeConfig({ context: 'bogus' }).getCurrentCluster()?.server).toBe('https://127.0.0.1:1');
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    }
  });
});

describe('object helpers against a real API server', () => {
  const cmRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm1' };

  it('creates and updates with server-side apply, keeping plain JSON (strings, not Dates)', async () => {
    const created = await serverSideApply<KubeObject>(
      kc,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cm1', namespace: ns, labels: { a: '1' } },
        data: { k: 'v1' },
      },
      { fieldManager: 'tokensync' },
    );
    expect(created.metadata.uid).toBeTruthy();
    expect(typeof created.metadata.creationTimestamp).toBe('string');
    const updated = await serverSideApply<KubeObject & { data: Record<string, string> }>(
      kc,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', namespace: ns }, data: { k: 'v2' } },
      { fieldManager: 'tokensync' },
    );
    expect(updated.data).toEqual({ k: 'v2' });
    // Labels were owned by tokensync and left out of the second apply: SSA removes them.
    expect(updated.metadata.labels).toBeUndefined();
  });

  it('reports a field-ownership conflict between managers unless forced', async () => {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', namespace: ns }, data: { k: 'x' } };
    await expectApiError(serverSideApply(kc, body, { fieldManager: 'someone-else' }), isConflict);
    const forced = await serverSideApply<{ data: Record<string, string> }>(kc, body, {
      fieldManager: 'someone-else',
      force: true,
    });
    expect(forced.data).toEqual({ k: 'x' });
  });

  it('reads an object and says NotFound for a missing one', async () => {
    const got = await getObject<KubeObject>(kc, cmRef);
    expect(got.metadata.name).toBe('cm1');
    await expectApiError(getObject(kc, { ...cmRef, name: 'missing' }), isNotFound);
  });

  it('merge-patches with an optimistic resourceVersion precondition', async () => {
    const current = await getObject<KubeObject>(kc, cmRef);
    const rv = current.metadata.resourceVersion!;
    const patched = await patchMerge<KubeObject>(
      kc,
      cmRef,
      { metadata: { annotations: { x: 'y' } } },
      { resourceVersion: rv },
    );
    expect(patched.metadata.annotations).toEqual({ x: 'y' });
    // The same stale version again: the object moved on, so the API server refuses.
    await expectApiError(
      patchMerge(kc, cmRef, { metadata: { annotations: { x: 'z' } } }, { resourceVersion: rv }),
      isConflict,
    );
  });

  it('patches only the status subresource of a custom resource', async () => {
    const ref = { apiVersion: 'tokensync.io/v1alpha1', kind: 'ServiceAccountToken', namespace: ns, name: 'sat1' };
    const created = await serverSideApply<KubeObject>(
      kc,
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: 'sat1', namespace: ns },
        spec: { providerRef: { name: 'p' }, serviceAccount: 'sa' },
      },
      { fieldManager: 'test' },
    );
    const withStatus = await patchStatus<KubeObject & { status: { revision: number }; spec: unknown }>(
      kc,
      ref,
      { revision: 3, secretName: 'sat1' },
      { resourceVersion: created.metadata.resourceVersion!, fieldManager: 'tokensync' },
    );
    expect(withStatus.status.revision).toBe(3);
    expect(withStatus.metadata.generation).toBe(created.metadata.generation);
    await expectApiError(
      patchStatus(kc, ref, { revision: 4 }, { resourceVersion: created.metadata.resourceVersion! }),
      isConflict,
    );
    // A status patch sent to the main resource is ignored by the API server; through /status it is the only path.
    const again = await getObject<{ status: { revision: number } }>(kc, ref);
    expect(again.status.revision).toBe(3);
  });

  it('deletes with a uid precondition, and NotFound afterwards', async () => {
    const current = await getObject<KubeObject>(kc, cmRef);
    await expectApiError(deleteObject(kc, cmRef, { preconditions: { uid: 'not-the-uid' } }), isConflict);
    await deleteObject(kc, cmRef, { preconditions: { uid: current.metadata.uid! } });
    await expectApiError(getObject(kc, cmRef), isNotFound);
    await expectApiError(deleteObject(kc, cmRef), isNotFound);
  });
});
