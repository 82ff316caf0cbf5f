import {
  EventReason,
  type RestartTargetKind,
  type ServiceAccountTokenSpec,
  type ServiceAccountTokenStatus,
} from '../../api/v1alpha1/index.ts';
import { rfc3339 } from '../conditions.ts';
import { selectorQuery } from '../label-selector.ts';
import { earliest } from '../result.ts';
import type { RestartDone } from '../workloads/restart-batcher.ts';
import { describe } from './failure.ts';
import type { Round } from './round.ts';

type Restarts = NonNullable<ServiceAccountTokenStatus['restarts']>;
type RestartRecord = NonNullable<Restarts['workloads']>[number];
type Target = NonNullable<ServiceAccountTokenSpec['restartTargets']>[number];

/** At most this many workloads are restarted per rotation (the size of status.restarts.workloads). */
export const MAX_RESTARTED_WORKLOADS = 64;
/** After a batched restart's time, look again this much later if its wake-up got lost. */
const WAKE_SAFETY_MS = 2_000;

/**
 * After a rotation: records in status that the Secret of `revision`, written at `writtenAt`, owes the restart
 * targets a rollout restart. `restartOwed` performs it, in this round or (batched with other tokens) a later one, so
 * a crash or a failover in between only delays it.
 */
export function oweRestarts(round: Round, revision: number, writtenAt: Date): void {
  if (!round.deps.restartsEnabled || !round.sat.spec.restartTargets?.length) {
    if (round.status.restarts) round.set({ restarts: null });
    return;
  }
  round.set({ restarts: { revision, requestedAt: writtenAt.toISOString() } });
}

/**
 * Performs the restarts status says are owed: resolves the targets (names, and label selectors listed now), and asks
 * the batcher to restart each workload at or after the Secret write. When one is batched into a later restart, returns
 * the wait (the batcher also wakes this token). Once all are handled, records each outcome (the rollout gate reads
 * them) and an Event per workload. A failure is an Event, never a reason to retry the rotation: the new token is
 * already in the Secret.
 */
export async function restartOwed(round: Round): Promise<number | undefined> {
  const owed = round.status.restarts;
  if (!owed || owed.completedAt) return undefined;
  const batcher = round.deps.restarts;
  if (!round.deps.restartsEnabled || !batcher) {
    round.set({ restarts: null }); // Restarts were turned off since: readiness.ts says so in RestartTargets.
    return undefined;
  }
  const { records, unresolved, warnings } = await resolveTargets(round, round.sat.spec.restartTargets ?? []);
  const notBefore = Date.parse(owed.requestedAt);
  const requester = `${round.namespace}/${round.name}`;
  const outcomes: Array<{ record: RestartRecord; done: RestartDone }> = [];
  let wait: number | undefined;
  for (const record of records) {
    const kind = record.kind;
    const outcome = await batcher.request(
      { namespace: round.namespace, kind, name: record.name! },
      notBefore,
      requester,
    );
    if (outcome.state === 'scheduled') wait = earliest(wait, outcome.at - round.now.getTime() + WAKE_SAFETY_MS);
    else outcomes.push({ record, done: outcome });
  }
  if (wait !== undefined) return wait;

  const workloads: RestartRecord[] = [
    ...outcomes.map(({ record, done }) => ({
      kind: record.kind,
      name: record.name!,
      result: done.result,
      ...(done.result === 'Restarted' && done.generation !== undefined ? { generation: done.generation } : {}),
    })),
    ...unresolved,
  ];
  round.set({
    restarts: { ...owed, completedAt: rfc3339(round.now), ...(workloads.length ? { workloads } : {}) },
  });
  for (const warning of warnings) round.event('Warning', EventReason.RestartedWorkload, warning);
  for (const { record, done } of outcomes) {
    const what = `${record.kind} ${record.name}`;
    if (done.result === 'Restarted') {
      round.event(
        'Normal',
        EventReason.RestartedWorkload,
        `Restarted ${what} (rollout restart at ${new Date(done.at).toISOString()}) after rotation to revision ${owed.revision}`,
      );
    } else if (done.result === 'NotFound') {
      round.event('Warning', EventReason.RestartedWorkload, `${what} not found; nothing restarted`);
    } else {
      round.event('Warning', EventReason.RestartedWorkload, `Could not restart ${what}: ${done.message}`);
    }
  }
  return undefined;
}

/**
 * The workloads the targets name now: each named one, and every match of each selector. A selector whose list fails
 * (or whose matches do not fit the record) is reported as unresolved, which also keeps the rollout gate shut: its
 * workloads may still hold the old token.
 */
async function resolveTargets(
  round: Round,
  targets: Target[],
): Promise<{ records: RestartRecord[]; unresolved: RestartRecord[]; warnings: string[] }> {
  const seen = new Set<string>();
  const records: RestartRecord[] = [];
  const unresolved: RestartRecord[] = [];
  const warnings: string[] = [];
  const add = (kind: RestartTargetKind, name: string) => {
    const key = `${kind}/${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    records.push({ kind, name, result: 'Restarted' });
  };
  for (const target of targets) {
    if (target.name !== undefined) {
      add(target.kind, target.name);
      continue;
    }
    const query = selectorQuery(target.selector ?? {});
    let names: string[];
    try {
      names = await round.deps.workloads.list(round.namespace, target.kind, query);
    } catch (error) {
      unresolved.push({ kind: target.kind, selector: query, result: 'Failed' });
      warnings.push(`Could not list ${target.kind}s matching ${query}: ${describe(error)}`);
      continue;
    }
    if (!names.length) warnings.push(`No ${target.kind} matches ${query}; nothing restarted`);
    for (const name of names) add(target.kind, name);
  }
  const room = MAX_RESTARTED_WORKLOADS - unresolved.length;
  if (records.length > room) {
    const dropped = records.splice(room - 1);
    unresolved.push({ kind: dropped[0]!.kind, selector: `${dropped.length} more workloads`, result: 'Failed' });
    warnings.push(
      `The restart targets match more than ${MAX_RESTARTED_WORKLOADS} workloads; ${dropped.length} were not restarted: ${dropped
        .slice(0, 5)
        .map((r) => `${r.kind} ${r.name}`)
        .join(', ')}${dropped.length > 5 ? ', ...' : ''}. Narrow the selectors`,
    );
  }
  return { records, unresolved, warnings };
}
