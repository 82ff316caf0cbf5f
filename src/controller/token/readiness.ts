import {
  type Condition,
  ConditionType,
  EventReason,
  Reason,
  type ServiceAccountToken,
  type ServiceAccountTokenStatus,
} from '../../api/v1alpha1/index.ts';
import { isPassthroughTokenId } from '../../providers/passthrough.ts';
import { getCondition, rfc3339, sameConditions, setCondition } from '../conditions.ts';
import { parseDuration } from '../durations.ts';
import { selectorQuery } from '../label-selector.ts';
import { providerKeyOfRef } from '../provider-resolver.ts';
import { describeWindows, inWindow, nextInWindow } from '../renewal-windows.ts';
import { renewBeforeExceedsLifetime, SHORT_LIFETIME_RENEW_FRACTION } from '../schedule.ts';
import type { Violation } from './policies/checks.ts';
import type { Problem, Round } from './round.ts';

/** Whether the current token's expiry has passed (a token without expiry never expires). */
export function isExpired(status: Pick<ServiceAccountTokenStatus, 'expiresAt'> | undefined, now: Date): boolean {
  return !!status?.expiresAt && Date.parse(status.expiresAt) <= now.getTime();
}

export interface ReadinessInput {
  sat: ServiceAccountToken;
  /** Status including this round's staged changes. */
  status: ServiceAccountTokenStatus;
  now: Date;
  problem?: Problem | undefined;
  violation?: Violation | undefined;
  /** The Secret is known (from a live read) to be missing. */
  secretMissing?: boolean;
  /** The resource is being deleted. */
  deleting?: boolean;
  /** Whether this installation restarts workloads (restartTargets). */
  restartsEnabled?: boolean;
}

interface ConditionValue {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * Ready, from state alone, so it cannot disagree with reality: a token past its expiry is never Ready, whatever
 * else is going on; a live token stays Ready while a rotation fails (consumers still hold a valid token) unless a
 * problem makes the spec unsatisfiable; without a token, Ready says why none could be issued.
 */
export function readyCondition(input: ReadinessInput): ConditionValue {
  const { status, now, problem } = input;
  if (input.deleting) {
    return { status: 'False', reason: Reason.Revoking, message: problem?.message ?? revokingMessage(input) };
  }
  if (isExpired(status, now)) {
    const why = status.lastFailure ? `; renewal keeps failing: ${status.lastFailure}` : '';
    return { status: 'False', reason: Reason.Expired, message: `The token expired at ${status.expiresAt}${why}` };
  }
  if (problem?.blocksReady) return { status: 'False', reason: problem.reason, message: problem.message };
  if (!status.tokenId) {
    if (problem) return { status: 'False', reason: problem.reason, message: problem.message };
    if (status.lastFailureReason) {
      return { status: 'False', reason: status.lastFailureReason, message: status.lastFailure ?? 'Issuing failed' };
    }
    return { status: 'False', reason: Reason.NotIssued, message: 'No token has been issued yet' };
  }
  if (input.secretMissing) {
    const why = status.lastFailure ? `: ${status.lastFailure}` : '';
    return {
      status: 'False',
      reason: Reason.SecretMissing,
      message: `Secret ${status.secretName ?? ''} is missing; a new token could not be written yet${why}`,
    };
  }
  const passthrough = isPassthroughTokenId(status.tokenId);
  return {
    status: 'True',
    reason: passthrough ? Reason.Passthrough : Reason.Issued,
    message: readyMessage(status, passthrough),
  };
}

/**
 * While deleting: what holds the finalizer. A revocation that failed since the deletion began is named, with the
 * way out for a credentials API that is gone for good (R3: deletion always completes, by a human's choice if the
 * upstream cannot be reached). A failure from before the deletion (a rotation's) is not about revoking.
 */
export function revokingMessage(input: Pick<ReadinessInput, 'sat' | 'status'>): string {
  const { sat, status } = input;
  const deletedAt = sat.metadata.deletionTimestamp ? Date.parse(sat.metadata.deletionTimestamp) : undefined;
  const failedAt = status.lastFailureTime ? Date.parse(status.lastFailureTime) : undefined;
  if (!status.lastFailure || deletedAt === undefined || failedAt === undefined || failedAt < deletedAt) {
    return 'Revoking upstream tokens before deletion';
  }
  return `Revoking upstream tokens before deletion keeps failing (${status.lastFailure}); tokensync retries with backoff. If the credentials API is gone for good, release the resource without revoking: kubectl patch sat ${sat.metadata.name} -n ${sat.metadata.namespace} --type merge -p '{"spec":{"deletionPolicy":"Retain"}}'`;
}

/** The Ready=True message, from status fields only, so a re-computation after a restart is identical. */
export function readyMessage(status: ServiceAccountTokenStatus, passthrough: boolean): string {
  if (passthrough) {
    return `Secret ${status.secretName} holds the passthrough token; rotate and revoke it in the vendor's console`;
  }
  const until = status.expiresAt ? `, valid until ${status.expiresAt}` : ', which does not expire';
  return `Secret ${status.secretName} holds token ${status.tokenName}${until}`;
}

/** Issuing: True while a (re)mint is wanted, with why and what it waits for; False with what blocks it, or idle. */
export function issuingCondition(input: ReadinessInput, ready: ConditionValue): ConditionValue {
  const { status, problem, violation } = input;
  if (problem) return { status: 'False', reason: problem.reason, message: problem.message };
  if (violation && !input.deleting) {
    const waiting =
      status.nextAttemptAt && status.lastFailure
        ? `; next attempt at ${status.nextAttemptAt} after: ${status.lastFailure}`
        : '';
    return { status: 'True', reason: violation.reason, message: `${violation.message}${waiting}` };
  }
  return {
    status: 'False',
    reason: ready.status === 'True' ? Reason.Idle : ready.reason,
    message: ready.status === 'True' ? 'No issuing in progress' : ready.message,
  };
}

/**
 * LifetimeHonored: whether the credentials API granted the lifetime the spec asked for. Only present when the
 * spec asks for one (lifetime or renewBefore); derived from status so it is stable across restarts.
 */
export function lifetimeCondition(input: ReadinessInput): ConditionValue | undefined {
  const { sat, status } = input;
  const spec = sat.spec;
  if (!status.tokenId || !status.issuedAt || (!spec.lifetime && !spec.renewBefore)) return undefined;
  if (isPassthroughTokenId(status.tokenId)) return undefined;
  const issuedAt = new Date(status.issuedAt);
  if (!status.expiresAt) {
    if (!spec.lifetime) return undefined;
    return {
      status: 'False',
      reason: Reason.LifetimeNotSupported,
      message: `The credentials API takes no lifetime: token ${status.tokenName} never expires although lifetime ${spec.lifetime} was asked. ${
        spec.rotation?.every
          ? `It is rotated every ${spec.rotation.every} (rotation.every).`
          : `Set rotation.every (e.g. ${spec.lifetime}) to rotate it on a schedule.`
      }`,
    };
  }
  const expiresAt = new Date(status.expiresAt);
  const granted = expiresAt.getTime() - issuedAt.getTime();
  const grantedText = formatDuration(granted);
  if (renewBeforeExceedsLifetime(spec, issuedAt, expiresAt)) {
    return {
      status: 'False',
      reason: Reason.UpstreamLifetimeShorter,
      message: `The credentials API granted ${grantedText}, not longer than renewBefore ${spec.renewBefore}; renewing at ${Math.round(
        SHORT_LIFETIME_RENEW_FRACTION * 100,
      )}% of the granted lifetime instead. Lower renewBefore or use renewBeforePercentage`,
    };
  }
  if (spec.lifetime) {
    const asked = parseDuration(spec.lifetime);
    // A few seconds or a percent of rounding upstream is not a shorter lifetime.
    if (granted < asked - Math.max(60_000, asked * 0.01)) {
      return {
        status: 'False',
        reason: Reason.UpstreamLifetimeShorter,
        message: `The credentials API granted ${grantedText} of the ${spec.lifetime} asked; tokensync renews within the granted lifetime`,
      };
    }
  }
  return {
    status: 'True',
    reason: Reason.LifetimeGranted,
    message: spec.lifetime ? `Lifetime ${spec.lifetime} granted` : 'renewBefore fits the granted lifetime',
  };
}

/** RestartTargets: present only when spec.restartTargets lists workloads; says whether they will be restarted. */
export function restartCondition(sat: ServiceAccountToken, enabled: boolean): ConditionValue | undefined {
  const targets = sat.spec.restartTargets ?? [];
  if (!targets.length) return undefined;
  const names = targets
    .map((t) =>
      t.name !== undefined ? `${t.kind} ${t.name}` : `every ${t.kind} matching ${selectorQuery(t.selector ?? {})}`,
    )
    .join(', ');
  return enabled
    ? {
        status: 'True',
        reason: Reason.RestartsEnabled,
        message: `Restarted after each rotation: ${names}. The old token is revoked once they have rolled out, at the latest when the grace period ends`,
      }
    : {
        status: 'False',
        reason: Reason.RestartsDisabled,
        message: `This tokensync installation does not restart workloads, so ${names} will keep the token they read at start until restarted by hand. A platform administrator enables it with the chart value restartTargets.enabled=true (controller flag --enable-restart-targets)`,
      };
}

/**
 * RenewalWindow: present only when spec.renewal.windows is set and a renewal is scheduled. From spec and status alone
 * (like every condition), so it reads the same after a restart.
 */
export function renewalWindowCondition(input: ReadinessInput): ConditionValue | undefined {
  const windows = input.sat.spec.renewal?.windows;
  const { renewalTime, expiresAt } = input.status;
  if (!windows?.length || !renewalTime || input.deleting) return undefined;
  const at = Date.parse(renewalTime);
  if (inWindow(windows, at)) {
    return {
      status: 'True',
      reason: Reason.InsideWindow,
      message: `Renews at ${renewalTime}, inside the renewal windows`,
    };
  }
  const next = nextInWindow(windows, at);
  const opens = next ? `; the next window opens at ${rfc3339(new Date(next.at))}` : '';
  return {
    status: 'False',
    reason: Reason.OutsideWindow,
    message: `No renewal window (${describeWindows(windows)}) opens early enough before the token expires at ${expiresAt}: it is renewed at ${renewalTime}, outside the windows, rather than left to expire${opens}. Widen the windows or renew earlier (renewBefore) so a window fits`,
  };
}

/** The full condition list this resource should carry now (lastTransitionTime kept where status did not flip). */
export function computeConditions(input: ReadinessInput): Condition[] {
  const generation = input.sat.metadata.generation;
  const ready = readyCondition(input);
  let conditions = setCondition(
    input.status.conditions,
    { type: ConditionType.Ready, ...ready, observedGeneration: generation },
    input.now,
  );
  conditions = setCondition(
    conditions,
    { type: ConditionType.Issuing, ...issuingCondition(input, ready), observedGeneration: generation },
    input.now,
  );
  const lifetime = lifetimeCondition(input);
  if (lifetime) {
    conditions = setCondition(
      conditions,
      { type: ConditionType.LifetimeHonored, ...lifetime, observedGeneration: generation },
      input.now,
    );
  } else {
    conditions = conditions.filter((c) => c.type !== ConditionType.LifetimeHonored);
  }
  const restarts = restartCondition(input.sat, !!input.restartsEnabled);
  if (restarts) {
    conditions = setCondition(
      conditions,
      { type: ConditionType.RestartTargets, ...restarts, observedGeneration: generation },
      input.now,
    );
  } else {
    conditions = conditions.filter((c) => c.type !== ConditionType.RestartTargets);
  }
  const window = renewalWindowCondition(input);
  if (window) {
    conditions = setCondition(
      conditions,
      { type: ConditionType.RenewalWindow, ...window, observedGeneration: generation },
      input.now,
    );
  } else {
    conditions = conditions.filter((c) => c.type !== ConditionType.RenewalWindow);
  }
  return conditions;
}

/**
 * The last step of every reconcile, whatever happened before it: folds the conditions into the staged status,
 * writes once if anything changed, records Events, and reports the token to the metrics. A problem or a lifetime
 * shortfall that newly appears gets its Warning Event here, once.
 */
export async function settle(round: Round, options: { deleting?: boolean } = {}): Promise<void> {
  const before = round.sat.status?.conditions;
  const conditions = computeConditions({
    sat: round.sat,
    status: round.status,
    now: round.now,
    problem: round.problem,
    violation: round.violation,
    secretMissing: round.secretLive && !round.secret && !!round.status.tokenId,
    restartsEnabled: !!round.deps.restartsEnabled,
    ...(options.deleting ? { deleting: true } : {}),
  });
  if (!sameConditions(conditions, before)) round.set({ conditions });
  if (round.sat.status?.observedGeneration !== round.sat.metadata.generation) {
    round.set({ observedGeneration: round.sat.metadata.generation });
  }
  const problem = round.problem;
  if (problem && !sameReason(before, ConditionType.Issuing, problem.reason, problem.message)) {
    round.event('Warning', problem.event, problem.message);
    round.deps.logger.warn({ ...round.log(), reason: problem.reason }, problem.message);
  }
  const lifetime = getCondition(conditions, ConditionType.LifetimeHonored);
  // Once per shortfall, not once per renewal: the granted duration in the message may differ by a second each time.
  const lifetimeBefore = getCondition(before, ConditionType.LifetimeHonored);
  if (
    lifetime?.status === 'False' &&
    (lifetimeBefore?.status !== 'False' || lifetimeBefore.reason !== lifetime.reason)
  ) {
    round.event('Warning', EventReason.LifetimeShortened, lifetime.message);
  }
  const window = getCondition(conditions, ConditionType.RenewalWindow);
  if (window?.status === 'False' && !sameReason(before, ConditionType.RenewalWindow, window.reason, window.message)) {
    round.event('Warning', EventReason.RenewalOutsideWindow, window.message);
  }
  await round.flush();
  observe(round);
}

function sameReason(conditions: Condition[] | undefined, type: string, reason: string, message: string): boolean {
  const c = getCondition(conditions, type);
  return c?.reason === reason && c.message === message;
}

/** Reports the token's readiness and schedule to the metrics, from the status just written. */
export function observe(round: Round): void {
  const status = round.sat.status ?? {};
  const ready = getCondition(status.conditions, ConditionType.Ready);
  round.deps.metrics?.observeToken({
    namespace: round.namespace,
    name: round.name,
    // The provider object the token names, as the provider metrics key it (even when it does not exist).
    provider: providerKeyOfRef(round.sat),
    ready: ready?.status ?? 'Unknown',
    reason: ready?.reason ?? '',
    ...(status.expiresAt ? { expiresAt: new Date(status.expiresAt) } : {}),
    ...(status.renewalTime ? { renewalTime: new Date(status.renewalTime) } : {}),
  });
}

/** 90061000 → "1d1h1m1s"; for messages. */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join('') || '0s';
}
