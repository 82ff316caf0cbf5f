import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Informer, type InformerEvent, trimMetadata } from '../../../src/kube/informer.ts';
import { type KubeConfig, loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { deleteObject, patchMerge, serverSideApply } from '../../support/kube-verbs.ts';

type ConfigMap = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    managedFields?: unknown;
  };
  data?: Record<string, string>;
};

let cp: ControlPlane;
let kc: KubeConfig;
let nsCounter = 0;
const informers: Informer<ConfigMap>[] = [];

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function namespace(): Promise<string> {
  const ns = `inf-${++nsCounter}`;
  const r = await cp.kubectl(['create', 'namespace', ns]);
  expect(r.code, r.stderr).toBe(0);
  return ns;
}

function apply(ns: string, name: string, data: Record<string, string>, labels?: Record<string, string>) {
  return serverSideApply(
    kc,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...(labels ? { labels } : {}) }, data },
    { fieldManager: 'test', force: true },
  );
}

function remove(ns: string, name: string) {
  return deleteObject(kc, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
}

function informer(
  ns: string,
  extra: Partial<ConstructorParameters<typeof Informer<ConfigMap>>[0]> = {},
): { inf: Informer<ConfigMap>; events: InformerEvent<ConfigMap>[] } {
  const inf = new Informer<ConfigMap>({
    kubeConfig: kc,
    path: `/api/v1/namespaces/${ns}/configmaps`,
    transform: trimMetadata,
    backoff: { baseMs: 50, maxMs: 500, jitter: 'equal' },
    ...extra,
  });
  const events: InformerEvent<ConfigMap>[] = [];
  inf.onEvent((e) => events.push(e));
  informers.push(inf);
  return { inf, events };
}

function summary(events: InformerEvent<ConfigMap>[]): string[] {
  return events.map((e) => `${e.type}:${e.object.metadata.name}:${e.object.data?.['v'] ?? ''}`);
}

beforeAll(async () => {
  cp = await startControlPlane();
  kc = loadKubeConfig({ kubeconfig: cp.kubeconfigPath });
});

afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});

afterAll(async () => {
  await cp?.stop();
});

describe('Informer against a real API server', () => {
  it('lists existing objects before start resolves, then follows adds, updates and deletes', async () => {
    const ns = await namespace();
    await apply(ns, 'before', { v: '0' });
    const { inf, events } = informer(ns);
    await inf.start();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.size()).toBe(1);
    expect(inf.get(`${ns}/before`)?.data).toEqual({ v: '0' });

    await apply(ns, 'a', { v: '1' });
    await apply(ns, 'a', { v: '2' });
    await remove(ns, 'before');
    await waitFor(() => events.length >= 4, '4 events');
    expect(summary(events)).toEqual(['add:before:0', 'add:a:1', 'update:a:2', 'delete:before:0']);
    const update = events[2] as Extract<InformerEvent<ConfigMap>, { type: 'update' }>;
    expect(update.old.data).toEqual({ v: '1' });
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(inf.get(`${ns}/before`)).toBeUndefined();
  });

  it('drops managedFields on ingest from both the list and the watch', async () => {
    const ns = await namespace();
    await apply(ns, 'listed', { v: '1' });
    const { inf } = informer(ns);
    await inf.start();
    await apply(ns, 'watched', { v: '1' });
    await waitFor(() => inf.size() === 2, 'both objects');
    for (const obj of inf.list()) {
      expect(obj.metadata.managedFields).toBeUndefined();
      // Listed items get apiVersion/kind back so they look like watched ones.
      expect(obj.kind).toBe('ConfigMap');
      expect(obj.apiVersion).toBe('v1');
    }
  });

  it('applies the transform hook to every object it caches', async () => {
    const ns = await namespace();
    await apply(ns, 's', { v: 'secret-ish' });
    const { inf } = informer(ns, {
      transform: (o: ConfigMap) => ({
        metadata: trimMetadata(o).metadata,
        data: { v: `len${o.data?.['v']?.length}` },
      }),
    });
    await inf.start();
    await apply(ns, 't', { v: 'abc' });
    await waitFor(() => inf.size() === 2, 'two objects');
    expect(inf.get(`${ns}/s`)?.data).toEqual({ v: 'len10' });
    expect(inf.get(`${ns}/t`)?.data).toEqual({ v: 'len3' });
  });

  it('sees only objects matching its label selector', async () => {
    const ns = await namespace();
    await apply(ns, 'ours-1', { v: '1' }, { 'app.kubernetes.io/managed-by': 'tokensync' });
    await apply(ns, 'theirs-1', { v: '1' });
    const { inf, events } = informer(ns, { labelSelector: 'app.kubernetes.io/managed-by=tokensync' });
    await inf.start();
    await apply(ns, 'theirs-2', { v: '1' });
    await apply(ns, 'ours-2', { v: '1' }, { 'app.kubernetes.io/managed-by': 'tokensync' });
    await waitFor(() => inf.size() === 2, 'ours-2');
    expect(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['ours-1', 'ours-2']);
    // Removing the label makes the object leave the selection: a delete for this informer.
    await patchMerge(
      kc,
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'ours-1' },
      { metadata: { labels: { 'app.kubernetes.io/managed-by': null } } },
    );
    await waitFor(() => inf.size() === 1, 'ours-1 to leave the selection');
    expect(summary(events)).toEqual(['add:ours-1:1', 'add:ours-2:1', 'delete:ours-1:1']);
  });

  it('reconnects when the server ends each watch and loses no event across reconnects', async () => {
    const ns = await namespace();
    const { inf, events } = informer(ns, { timeoutSeconds: 1 });
    await inf.start();
    // Writes spread over ~4 s, while watches end every ~1 s.
    for (let i = 0; i < 20; i++) {
      await apply(ns, `c${i}`, { v: '1' });
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitFor(() => inf.size() === 20, 'all 20 objects');
    expect(inf.restarts).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.type === 'add')).toHaveLength(20);
    expect(events).toHaveLength(20);
  });

  it('resumes from the last resourceVersion after its connection is cut, delivering what changed meanwhile', async () => {
    const ns = await namespace();
    await apply(ns, 'keep', { v: '1' });
    await apply(ns, 'gone', { v: '1' });
    const { inf, events } = informer(ns);
    await inf.start();
    const restarts = inf.restarts;
    inf.testing.disconnect();
    await apply(ns, 'keep', { v: '2' });
    await remove(ns, 'gone');
    await apply(ns, 'new', { v: '1' });
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toHaveLength(2); // only the initial adds: it was disconnected
    inf.testing.resume();
    await waitFor(() => events.length >= 5, 'the changes made while disconnected');
    expect(summary(events).slice(2)).toEqual(['update:keep:2', 'delete:gone:1', 'add:new:1']);
    expect(inf.restarts).toBe(restarts + 1);
  });

  it('relists on 410 Gone and emits the difference for what changed while it was away', async () => {
    const ns = await namespace();
    // Custom resources: their watch cache starts when the CRD is established, so a resourceVersion from before that
    // is older than anything the cache can replay, exactly as after etcd compaction or an API server restart.
    const path = `/apis/tokensync.io/v1alpha1/namespaces/${ns}/serviceaccounttokens`;
    const sat = (name: string, v: string) =>
      serverSideApply(
        kc,
        {
          apiVersion: 'tokensync.io/v1alpha1',
          kind: 'ServiceAccountToken',
          metadata: { name, namespace: ns },
          spec: { providerRef: { name: 'p' }, serviceAccount: v },
        },
        { fieldManager: 'test', force: true },
      );
    const removeSat = (name: string) =>
      deleteObject(kc, { apiVersion: 'tokensync.io/v1alpha1', kind: 'ServiceAccountToken', namespace: ns, name });
    type Sat = ConfigMap & { spec: { serviceAccount: string } };
    const logged: string[] = [];
    const logger = { debug() {}, warn() {}, info: (_o: object, msg?: string) => logged.push(msg ?? '') };
    const inf = new Informer<Sat>({
      kubeConfig: kc,
      path,
      transform: trimMetadata,
      backoff: { baseMs: 50, maxMs: 500, jitter: 'equal' },
      logger,
    });
    informers.push(inf as unknown as Informer<ConfigMap>);
    const events: string[] = [];
    inf.onEvent((e) => events.push(`${e.type}:${e.object.metadata.name}:${e.object.spec.serviceAccount}`));
    await sat('same', '1');
    await sat('changed', '1');
    await sat('deleted', '1');
    await inf.start();
    expect(events).toHaveLength(3);
    inf.testing.disconnect();
    await sat('changed', '2');
    await removeSat('deleted');
    await sat('created', '1');
    inf.testing.resume({ resourceVersion: '1' });
    await waitFor(() => events.length >= 6, 'the relist diff');
    // Exactly the diff: a replay from the old version would have re-sent 'same' and the intermediate states.
    expect(events.slice(3).sort()).toEqual(['add:created:1', 'delete:deleted:1', 'update:changed:2']);
    expect(logged).toContain('watch expired (410); relisting');
    expect(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['changed', 'created', 'same']);
    // And it keeps watching after the relist.
    await sat('after', '1');
    await waitFor(() => inf.get(`${ns}/after`) !== undefined, 'an object created after the relist');
    expect(events).toHaveLength(7);
  });

  it('keeps retrying the first list until it is allowed, then syncs', async () => {
    const ns = await namespace();
    const userKc = await cp.createUser('informer-user');
    const { inf } = informer(ns, { kubeConfig: loadKubeConfig({ kubeconfig: userKc }) });
    let synced = false;
    const started = inf.start().then(() => {
      synced = true;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(synced).toBe(false); // 403: no RBAC yet
    const grant = await cp.kubectl(['-n', ns, 'create', 'role', 'r', '--verb=list,watch', '--resource=configmaps']);
    expect(grant.code, grant.stderr).toBe(0);
    const bind = await cp.kubectl(['-n', ns, 'create', 'rolebinding', 'rb', '--role=r', '--user=informer-user']);
    expect(bind.code, bind.stderr).toBe(0);
    await started;
    expect(inf.hasSynced()).toBe(true);
  });

  it('stops cleanly, even before it has synced', async () => {
    const ns = await namespace();
    const userKc = await cp.createUser('nobody');
    const { inf } = informer(ns, { kubeConfig: loadKubeConfig({ kubeconfig: userKc }) });
    const started = inf.start();
    await new Promise((r) => setTimeout(r, 200));
    await inf.stop();
    await started;
    expect(inf.hasSynced()).toBe(false);
  });
});
