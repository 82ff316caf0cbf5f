import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../../../src/kube/client.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { type KubeConfig, loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { serverSideApply } from '../../support/kube-verbs.ts';

interface Event {
  metadata: { name: string };
  reason: string;
  type: string;
  note: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { kind: string; name: string; uid: string };
  series?: { count: number };
}

let cp: ControlPlane;
let kc: KubeConfig;
const ns = 'events-test';
let subject: { apiVersion: string; kind: string; metadata: { name: string; namespace: string; uid: string } };

async function eventsFor(name: string): Promise<Event[]> {
  const list = await kubeRequest<{ items: Event[] }>(kc, {
    method: 'GET',
    path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
    query: { fieldSelector: `regarding.name=${name}` },
  });
  return list.items;
}

beforeAll(async () => {
  cp = await startControlPlane({ crds: false });
  kc = loadKubeConfig({ kubeconfig: cp.kubeconfigPath });
  expect((await cp.kubectl(['create', 'namespace', ns])).code).toBe(0);
  const cm = await serverSideApply<{ metadata: { uid: string } }>(
    kc,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject', namespace: ns } },
    { fieldManager: 'test' },
  );
  subject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject', namespace: ns, uid: cm.metadata.uid } };
});

afterAll(async () => {
  await cp?.stop();
});

describe('EventRecorder against a real API server', () => {
  it('creates an Event about the object that kubectl describe shows', async () => {
    const rec = new EventRecorder({ kubeConfig: kc, component: 'tokensync', instance: 'pod-1' });
    await rec.record(subject, 'Normal', 'Issued', 'Issued token revision 1');
    const events = await eventsFor('subject');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      reason: 'Issued',
      type: 'Normal',
      note: 'Issued token revision 1',
      reportingController: 'tokensync',
      reportingInstance: 'pod-1',
      regarding: { kind: 'ConfigMap', name: 'subject', uid: subject.metadata.uid },
    });
    const described = await cp.kubectl(['-n', ns, 'describe', 'configmap', 'subject']);
    expect(described.stdout).toContain('Issued token revision 1');
  });

  it('counts repeats of the same event in one series instead of creating new Events', async () => {
    const other = { ...subject, metadata: { ...subject.metadata, name: 'repeats' } };
    const rec = new EventRecorder({ kubeConfig: kc, component: 'tokensync', instance: 'pod-1' });
    await rec.record(other, 'Warning', 'UpstreamError', 'connection refused');
    await rec.record(other, 'Warning', 'UpstreamError', 'connection refused');
    await rec.record(other, 'Warning', 'UpstreamError', 'connection refused');
    // A burst while a write is in flight is folded into one follow-up write.
    await Promise.all(
      Array.from({ length: 10 }, () => rec.record(other, 'Warning', 'UpstreamError', 'connection refused')),
    );
    let events = await eventsFor('repeats');
    expect(events).toHaveLength(1);
    expect(events[0]!.series?.count).toBe(13);
    // A different message is a different Event.
    await rec.record(other, 'Warning', 'UpstreamError', 'timeout');
    events = await eventsFor('repeats');
    expect(events).toHaveLength(2);
  });

  it('truncates long messages to what the API server accepts', async () => {
    const other = { ...subject, metadata: { ...subject.metadata, name: 'long' } };
    const rec = new EventRecorder({ kubeConfig: kc, component: 'tokensync', instance: 'pod-1' });
    await rec.record(other, 'Warning', 'InvalidSpec', 'x'.repeat(5000));
    const events = await eventsFor('long');
    expect(events).toHaveLength(1);
    expect(events[0]!.note).toHaveLength(1024);
    expect(events[0]!.note.endsWith('...')).toBe(true);
  });

  it('starts a new Event when the aggregated one has expired', async () => {
    const other = { ...subject, metadata: { ...subject.metadata, name: 'expired' } };
    const rec = new EventRecorder({ kubeConfig: kc, component: 'tokensync', instance: 'pod-1' });
    await rec.record(other, 'Normal', 'Renewed', 'renewed');
    const [first] = await eventsFor('expired');
    await kubeRequest(kc, {
      method: 'DELETE',
      path: `/apis/events.k8s.io/v1/namespaces/${ns}/events/${first!.metadata.name}`,
    });
    await rec.record(other, 'Normal', 'Renewed', 'renewed');
    const events = await eventsFor('expired');
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata.name).not.toBe(first!.metadata.name);
  });

  it('never throws, and logs, when the API server refuses the Event', async () => {
    const warnings: string[] = [];
    const rec = new EventRecorder({
      kubeConfig: kc,
      component: 'tokensync',
      instance: 'pod-1',
      logger: { warn: (_o, msg) => warnings.push(msg ?? '') },
    });
    const ghost = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'no-such-namespace', uid: 'u' },
    };
    await expect(rec.record(ghost, 'Normal', 'Issued', 'hello')).resolves.toBeUndefined();
    expect(warnings).toEqual(['failed to record event']);
  });
});
