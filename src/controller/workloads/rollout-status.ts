// Whether a workload has finished rolling out, judged the way `kubectl rollout status` judges it (kubectl's
// polymorphichelpers/rollout_status.go) and, for an Argo Rollout, the way `kubectl argo rollouts status` does.
import type { RestartTargetKind } from '../../api/v1alpha1/index.ts';
import type { Workload } from '../../kube/workloads.ts';

export type RolloutProgress =
  /** Every pod runs the current template (or, for a Rollout, every pod was restarted) and is available. */
  | { state: 'done'; message: string }
  /** Still rolling out, or the controller has not observed the change yet. */
  | { state: 'waiting'; message: string }
  /** Will not finish by itself (progress deadline exceeded, Degraded, a strategy without rollouts). */
  | { state: 'stuck'; message: string };

// biome-ignore lint/suspicious/noExplicitAny: spec and status are read field by field, as kubectl does
type Loose = any;

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);

/**
 * `restartedGeneration`: the generation our restart produced. The controller must have observed at least that one
 * (and the current one, whoever changed it since), so a status from before the restart never counts.
 */
export function rolloutProgress(
  kind: RestartTargetKind,
  workload: Workload,
  restartedGeneration?: number,
): RolloutProgress {
  const spec: Loose = workload.spec ?? {};
  const status: Loose = workload.status ?? {};
  const name = `${kind} ${workload.metadata.name}`;
  const generation = Math.max(num(workload.metadata.generation), num(restartedGeneration));
  const waitingForObservation = { state: 'waiting', message: `${name}: waiting for the spec update to be observed` };

  if (kind === 'Rollout') {
    // Argo Rollouts keeps observedGeneration as a string.
    if (String(status.observedGeneration ?? '') !== String(generation)) return waitingForObservation as RolloutProgress;
    if (status.phase === 'Degraded') return { state: 'stuck', message: `${name} is Degraded: ${status.message ?? ''}` };
    // spec.restartAt is done once the Rollout controller has restarted every older pod and recorded it.
    if (spec.restartAt && !(Date.parse(status.restartedAt ?? '') >= Date.parse(spec.restartAt))) {
      return { state: 'waiting', message: `${name}: restarting pods created before ${spec.restartAt}` };
    }
    if (status.phase !== 'Healthy') {
      return { state: 'waiting', message: `${name} is ${status.phase ?? 'not yet Healthy'}` };
    }
    return { state: 'done', message: `${name} is Healthy` };
  }

  if (kind === 'Deployment') {
    if (generation > num(status.observedGeneration)) return waitingForObservation as RolloutProgress;
    const progressing = (status.conditions ?? []).find((c: Loose) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      return { state: 'stuck', message: `${name} exceeded its progress deadline` };
    }
    const replicas = num(spec.replicas, 1);
    const updated = num(status.updatedReplicas);
    if (updated < replicas) {
      return { state: 'waiting', message: `${name}: ${updated} out of ${replicas} new replicas have been updated` };
    }
    if (num(status.replicas) > updated) {
      return {
        state: 'waiting',
        message: `${name}: ${num(status.replicas) - updated} old replicas are pending termination`,
      };
    }
    if (num(status.availableReplicas) < updated) {
      return {
        state: 'waiting',
        message: `${name}: ${num(status.availableReplicas)} of ${updated} updated replicas are available`,
      };
    }
    return { state: 'done', message: `${name} successfully rolled out` };
  }

  if (kind === 'DaemonSet') {
    if ((spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') {
      return { state: 'stuck', message: `${name} uses ${spec.updateStrategy.type}: its pods are not rolled` };
    }
    if (generation > num(status.observedGeneration)) return waitingForObservation as RolloutProgress;
    const desired = num(status.desiredNumberScheduled);
    if (num(status.updatedNumberScheduled) < desired) {
      return {
        state: 'waiting',
        message: `${name}: ${num(status.updatedNumberScheduled)} out of ${desired} new pods have been updated`,
      };
    }
    if (num(status.numberAvailable) < desired) {
      return {
        state: 'waiting',
        message: `${name}: ${num(status.numberAvailable)} of ${desired} updated pods are available`,
      };
    }
    return { state: 'done', message: `${name} successfully rolled out` };
  }

  // StatefulSet
  if ((spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') {
    return { state: 'stuck', message: `${name} uses ${spec.updateStrategy.type}: its pods are not rolled` };
  }
  if (num(status.observedGeneration) === 0 || generation > num(status.observedGeneration)) {
    return waitingForObservation as RolloutProgress;
  }
  const replicas = num(spec.replicas, 1);
  if (num(status.readyReplicas) < replicas) {
    return {
      state: 'waiting',
      message: `${name}: waiting for ${replicas - num(status.readyReplicas)} pods to be ready`,
    };
  }
  const partition = spec.updateStrategy?.rollingUpdate?.partition;
  if (spec.updateStrategy?.rollingUpdate) {
    if (typeof partition === 'number' && num(status.updatedReplicas) < replicas - partition) {
      return {
        state: 'waiting',
        message: `${name}: ${num(status.updatedReplicas)} out of ${replicas - partition} new pods have been updated`,
      };
    }
    return { state: 'done', message: `${name} successfully rolled out` };
  }
  if (status.updateRevision !== status.currentRevision) {
    return { state: 'waiting', message: `${name}: rolling update to revision ${status.updateRevision ?? '?'}` };
  }
  return { state: 'done', message: `${name} successfully rolled out` };
}
