import { EventReason } from '../../api/v1alpha1/index.ts';
import { rfc3339 } from '../conditions.ts';
import { describe } from './failure.ts';
import type { Round } from './round.ts';

/**
 * After a rotation, restarts the workloads that read the token only at start (rollout restart). A failure is an
 * Event, never a reason to retry the rotation: the new token is already in the Secret.
 */
export async function restartTargets(round: Round): Promise<void> {
  if (!round.deps.restartsEnabled) return; // readiness.ts says so in the RestartTargets condition.
  for (const target of round.sat.spec.restartTargets ?? []) {
    try {
      const result = await round.deps.workloads.restart(round.namespace, target.kind, target.name, rfc3339(round.now));
      round.event(
        result === 'restarted' ? 'Normal' : 'Warning',
        EventReason.RestartedWorkload,
        result === 'restarted'
          ? `Restarted ${target.kind} ${target.name} after rotation`
          : `${target.kind} ${target.name} not found; nothing restarted`,
      );
    } catch (error) {
      round.event(
        'Warning',
        EventReason.RestartedWorkload,
        `Could not restart ${target.kind} ${target.name}: ${describe(error)}`,
      );
    }
  }
}
