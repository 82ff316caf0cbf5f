import { EventReason, type ServiceAccountTokenStatus } from '../../api/v1alpha1/index.ts';
import { failpoint } from '../../failpoints.ts';
import { rfc3339 } from '../conditions.ts';
import { parseDuration } from '../durations.ts';
import { accountRef } from '../naming.ts';
import { CLEARED_FAILURE, recordFailure } from './failure.ts';
import { GATE_POLL_MS, gated, rolloutGate } from './rollout-gate.ts';
import type { Round } from './round.ts';

type Retiring = NonNullable<ServiceAccountTokenStatus['retiring']>[number];

const DEFAULT_GRACE_MS = 5 * 60_000;
/** The schema's cap on status.retiring. */
export const RETIRING_CAPACITY = 32;
/**
 * A rotation waits while this many tokens are still retiring, keeping room for the entries recovery adds: the list
 * can never overflow into a resource stuck in Issuing.
 */
export const RETIRING_ROTATION_LIMIT = RETIRING_CAPACITY - 2;

/** The grace period of the spec, in ms. */
export function gracePeriodMs(round: Round): number {
  const grace = round.sat.spec.rotation?.gracePeriod;
  return grace ? parseDuration(grace) : DEFAULT_GRACE_MS;
}

/**
 * When a replaced token is revoked: once the grace period is over, or when it expires if that comes first. An
 * expired token needs no grace, and with a short upstream lifetime (renewals every few seconds) a grace period of
 * minutes would otherwise pile tokens up on the retiring list until rotations had to wait and the current token
 * expired.
 */
export function graceEnd(round: Round, expiresAt: string | undefined): Date {
  const end = round.now.getTime() + gracePeriodMs(round);
  const expiry = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  return new Date(Number.isNaN(expiry) ? end : Math.max(round.now.getTime(), Math.min(end, expiry)));
}

/** Adds a token to the retiring list (once per id), to be revoked at `revokeAt`. */
export function retire(round: Round, token: Omit<Retiring, 'revokeAt'>, revokeAt: Date): void {
  const retiring = [...(round.status.retiring ?? [])];
  if (retiring.some((t) => t.tokenId === token.tokenId)) return;
  retiring.push({ ...token, revokeAt: rfc3339(revokeAt) });
  round.set({ retiring });
}

/** Milliseconds until the earliest retiring token is due, if any. */
export function nextRevocationMs(round: Round): number | undefined {
  const times = (round.status.retiring ?? []).map((t) => Date.parse(t.revokeAt) - round.now.getTime());
  return times.length ? Math.max(0, Math.min(...times)) : undefined;
}

/**
 * Revokes the retired tokens whose grace period is over, or whose consumers all run their successor: with restart
 * targets, at the earlier of "every restarted workload rolled out" (rollout-gate.ts) and revokeAt (make before break:
 * the Secret already holds their successor). 404 upstream counts as done. Returns a retry delay when a revocation
 * failed, or the gate's poll interval while a token waits for rollouts.
 */
export async function revokeDue(round: Round): Promise<number | undefined> {
  const retiring = round.status.retiring ?? [];
  const now = round.now.getTime();
  const due = retiring.filter((t) => Date.parse(t.revokeAt) <= now);
  const waiting = retiring.filter((t) => Date.parse(t.revokeAt) > now && gated(round.status, t));
  let poll: number | undefined;
  const rolledOut = new Set<string>();
  if (waiting.length) {
    const gate = await rolloutGate(round);
    if (gate.open) {
      for (const t of waiting) rolledOut.add(t.tokenId);
      due.push(...waiting);
    } else {
      round.deps.logger.debug({ ...round.log(), why: gate.why }, 'old token waits for the rollout');
      poll = Math.min(GATE_POLL_MS, ...waiting.map((t) => Date.parse(t.revokeAt) - now));
    }
  }
  if (!due.length) return poll;
  const r = await round.resolve();
  if (!r.ok) {
    round.deps.logger.warn({ ...round.log(), reason: r.reason }, `cannot revoke retired tokens yet: ${r.message}`);
    return 30_000;
  }
  const revoked = new Set<string>();
  let failure: unknown;
  for (const token of due) {
    try {
      await r.client.revoke({
        id: token.tokenId,
        ...(token.name ? { name: token.name } : {}),
        ...accountRef(round.sat),
      });
      revoked.add(token.tokenId);
      failpoint('after-revoke');
      round.deps.metrics?.revocations.inc({ provider: r.providerKey, result: 'success' });
      round.event(
        'Normal',
        EventReason.Revoked,
        rolledOut.has(token.tokenId)
          ? `Revoked retired token ${token.name ?? token.tokenId}: every restart target rolled out (the grace period would have ended at ${token.revokeAt})`
          : `Revoked retired token ${token.name ?? token.tokenId}`,
      );
    } catch (error) {
      round.deps.metrics?.revocations.inc({ provider: r.providerKey, result: 'error' });
      failure = error;
      break;
    }
  }
  if (revoked.size) {
    const remaining = retiring.filter((t) => !revoked.has(t.tokenId));
    round.set({ retiring: remaining.length ? remaining : null });
    // The token in use needed nothing this round, so a failure still on record was an earlier revocation's, and
    // this one succeeded: clear it, or Ready and Issuing would keep quoting a problem that is over.
    if (!failure && !round.violation && round.status.lastFailure) round.set({ ...CLEARED_FAILURE });
  }
  if (failure) {
    const name = due.find((t) => !revoked.has(t.tokenId));
    return recordFailure(
      round,
      failure,
      EventReason.RevokeFailed,
      `Could not revoke retired token ${name?.name ?? name?.tokenId}`,
    );
  }
  return poll;
}
