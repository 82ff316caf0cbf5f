// When a workload counts as rolled out: `kubectl rollout status` for apps/v1 (kubectl's rollout_status.go), and
// `kubectl argo rollouts status` plus spec.restartAt for an Argo Rollout.
import { describe, expect, it } from 'vitest';
import type { RestartTargetKind } from '../../../src/api/v1alpha1/index.ts';
import { rolloutProgress } from '../../../src/controller/workloads/rollout-status.ts';

const w = (generation: number, spec: Record<string, unknown>, status: Record<string, unknown>) => ({
  metadata: { name: 'web', generation },
  spec,
  status,
});
const state = (kind: RestartTargetKind, workload: ReturnType<typeof w>, restarted?: number) =>
  rolloutProgress(kind, workload, restarted).state;

describe('Deployment', () => {
  const spec = { replicas: 2 };
  const done = { observedGeneration: 3, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };

  it('is done when every replica is updated and available and no old one remains', () => {
    expect(rolloutProgress('Deployment', w(3, spec, done))).toEqual({
      state: 'done',
      message: 'Deployment web successfully rolled out',
    });
  });

  it('waits for the controller to observe the change, ours included', () => {
    expect(state('Deployment', w(3, spec, { ...done, observedGeneration: 2 }))).toBe('waiting');
    // The status of an older generation never counts, even if the object read looks older than our restart.
    expect(state('Deployment', w(3, spec, done), 4)).toBe('waiting');
  });

  it('waits for updated replicas, old replicas to terminate, and availability, in kubectl order', () => {
    expect(rolloutProgress('Deployment', w(3, spec, { ...done, updatedReplicas: 1 })).message).toBe(
      'Deployment web: 1 out of 2 new replicas have been updated',
    );
    expect(rolloutProgress('Deployment', w(3, spec, { ...done, replicas: 3 })).message).toBe(
      'Deployment web: 1 old replicas are pending termination',
    );
    expect(rolloutProgress('Deployment', w(3, spec, { ...done, availableReplicas: 1 })).message).toBe(
      'Deployment web: 1 of 2 updated replicas are available',
    );
  });

  it('is stuck past its progress deadline', () => {
    const conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }];
    expect(state('Deployment', w(3, spec, { ...done, updatedReplicas: 1, conditions }))).toBe('stuck');
  });

  it('counts a Deployment scaled to zero as rolled out once observed', () => {
    expect(state('Deployment', w(2, { replicas: 0 }, { observedGeneration: 2 }))).toBe('done');
  });
});

describe('StatefulSet', () => {
  const rolling = { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } };
  const done = { observedGeneration: 5, readyReplicas: 3, updatedReplicas: 3 };

  it('is done when ready and updated past the partition', () => {
    expect(state('StatefulSet', w(5, rolling, done))).toBe('done');
    expect(state('StatefulSet', w(5, rolling, { ...done, readyReplicas: 2 }))).toBe('waiting');
    expect(state('StatefulSet', w(5, rolling, { ...done, updatedReplicas: 2 }))).toBe('waiting');
    const partitioned = { ...rolling, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
    expect(state('StatefulSet', w(5, partitioned, { ...done, updatedReplicas: 1 }))).toBe('done');
  });

  it('without rollingUpdate, compares the current and update revisions', () => {
    const plain = { replicas: 1, updateStrategy: { type: 'RollingUpdate' } };
    const status = { observedGeneration: 2, readyReplicas: 1, currentRevision: 'a', updateRevision: 'b' };
    expect(state('StatefulSet', w(2, plain, status))).toBe('waiting');
    expect(state('StatefulSet', w(2, plain, { ...status, currentRevision: 'b' }))).toBe('done');
  });

  it('waits while observedGeneration is 0, and is stuck with OnDelete (a restart rolls nothing)', () => {
    expect(state('StatefulSet', w(1, rolling, { ...done, observedGeneration: 0 }))).toBe('waiting');
    expect(state('StatefulSet', w(5, { updateStrategy: { type: 'OnDelete' } }, done))).toBe('stuck');
  });
});

describe('DaemonSet', () => {
  const done = { observedGeneration: 4, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 };

  it('is done when every scheduled pod is updated and available', () => {
    expect(state('DaemonSet', w(4, {}, done))).toBe('done');
    expect(state('DaemonSet', w(4, {}, { ...done, updatedNumberScheduled: 2 }))).toBe('waiting');
    expect(state('DaemonSet', w(4, {}, { ...done, numberAvailable: 2 }))).toBe('waiting');
    expect(state('DaemonSet', w(5, {}, done))).toBe('waiting');
    expect(state('DaemonSet', w(4, { updateStrategy: { type: 'OnDelete' } }, done))).toBe('stuck');
  });
});

describe('Argo Rollout', () => {
  const spec = { restartAt: '2026-11-26T12:00:01Z' };
  const done = { observedGeneration: '7', phase: 'Healthy', restartedAt: '2026-11-26T12:00:01Z' };

  it('is done when Healthy at the current generation (a string) and restarted at or after restartAt', () => {
    expect(state('Rollout', w(7, spec, done))).toBe('done');
    expect(state('Rollout', w(7, spec, { ...done, observedGeneration: '6' }))).toBe('waiting');
    expect(state('Rollout', w(7, spec, { ...done, restartedAt: '2026-11-26T11:00:00Z' }))).toBe('waiting');
    expect(state('Rollout', w(7, spec, { ...done, phase: 'Progressing' }))).toBe('waiting');
    expect(state('Rollout', w(7, spec, { ...done, phase: 'Paused' }))).toBe('waiting');
    expect(state('Rollout', w(7, spec, { ...done, phase: 'Degraded' }))).toBe('stuck');
  });
});
