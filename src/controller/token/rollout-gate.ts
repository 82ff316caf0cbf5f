import type { ServiceAccountTokenStatus } from '../../api/v1alpha1/index.ts';
import { rolloutProgress } from '../workloads/rollout-status.ts';
import { describe } from './failure.ts';
import type { Round } from './round.ts';

type Retiring = NonNullable<ServiceAccountTokenStatus['retiring']>[number];

/** How often a retiring token waiting for rollouts looks at the workloads again (only while one waits). */
export const GATE_POLL_MS = 5_000;

/**
 * Whether the rollout gate governs this retiring token: it was replaced by a rotation whose restarts are done and
 * every one of them succeeded (a failed restart, or a selector that could not be listed, leaves pods on the old token:
 * then only the grace period ends it). Tokens without a revision (a mint interrupted by a crash, watched for a late
 * execution) always wait for their time.
 */
export function gated(status: ServiceAccountTokenStatus, token: Retiring): boolean {
  const restarts = status.restarts;
  if (!restarts?.completedAt || token.revision === undefined || token.revision >= restarts.revision) return false;
  const workloads = restarts.workloads ?? [];
  return workloads.some((w) => w.result === 'Restarted') && !workloads.some((w) => w.result === 'Failed');
}

/**
 * The rollout gate: open once every workload restarted after the last rotation has rolled out, judged as `kubectl
 * rollout status` judges it (controller/workloads/rollout-status.ts). A workload deleted since holds no token.
 * Every workload is read each time, so `why` names all that are still rolling out.
 */
export async function rolloutGate(round: Round): Promise<{ open: true } | { open: false; why: string }> {
  const waiting: string[] = [];
  for (const w of round.status.restarts?.workloads ?? []) {
    if (w.result !== 'Restarted' || !w.name) continue;
    let workload: Awaited<ReturnType<Round['deps']['workloads']['get']>>;
    try {
      workload = await round.deps.workloads.get(round.namespace, w.kind, w.name);
    } catch (error) {
      waiting.push(`cannot read ${w.kind} ${w.name}: ${describe(error)}`);
      continue;
    }
    if (!workload) continue;
    const progress = rolloutProgress(w.kind, workload, w.generation);
    if (progress.state !== 'done') waiting.push(progress.message);
  }
  return waiting.length ? { open: false, why: waiting.join('; ') } : { open: true };
}
