import { RENEW_ANNOTATION, Reason } from '../../api/v1alpha1/index.ts';
import { type BackoffPolicy, backoffDelay, PERMANENT_FAILURE, TRANSIENT_FAILURE } from '../../backoff.ts';
import { statusCodeOf } from '../../kube/client.ts';
import { ProviderError } from '../../providers/errors.ts';
import { rfc3339 } from '../conditions.ts';
import type { Round } from './round.ts';

/** A value minted upstream that cannot be stored in a Secret (see value-check.ts). */
export class ValueRejectedError extends Error {
  override readonly name = 'ValueRejectedError';
}

/** The API server refused a Secret write for a reason that retrying the same write cannot fix. */
export class SecretRejectedError extends Error {
  override readonly name = 'SecretRejectedError';
  readonly statusCode: number | undefined;
  constructor(message: string, statusCode: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.statusCode = statusCode;
  }
}

/**
 * Statuses with which the API server refuses a write that will fail again until something else changes:
 * 400 (a webhook's denial), 403 (RBAC, a ValidatingAdmissionPolicy, a ResourceQuota), 413 (too large),
 * 422 (validation). 409 (a concurrent change) and 5xx are worth retrying as they are.
 */
const REFUSED_STATUSES = new Set([400, 403, 413, 422]);

/** The API server refused the write to the resource that records a mint before it happens (issue.ts, write 1). */
export class WriteRejectedError extends Error {
  override readonly name = 'WriteRejectedError';
}

export function isRefusedWrite(error: unknown): boolean {
  const code = statusCodeOf(error);
  return code !== undefined && REFUSED_STATUSES.has(code);
}

export interface FailureClass {
  /** Condition reason recorded in status.lastFailureReason. */
  reason: string;
  policy: BackoffPolicy;
  /** Never retry sooner than this (upstream Retry-After). */
  floorMs?: number;
}

/** What a failure means for the schedule and the conditions. */
export function classify(error: unknown): FailureClass {
  if (ProviderError.is(error)) {
    if (error.code === 'RateLimited') {
      return {
        reason: Reason.UpstreamError,
        policy: TRANSIENT_FAILURE,
        floorMs: error.retryAfterMs ?? 1000,
      };
    }
    return error.retryable
      ? { reason: Reason.UpstreamError, policy: TRANSIENT_FAILURE }
      : { reason: Reason.UpstreamRejected, policy: PERMANENT_FAILURE };
  }
  if (error instanceof SecretRejectedError) return { reason: Reason.SecretRejected, policy: PERMANENT_FAILURE };
  if (error instanceof ValueRejectedError) return { reason: Reason.ValueRejected, policy: PERMANENT_FAILURE };
  if (error instanceof WriteRejectedError) return { reason: Reason.WriteRejected, policy: PERMANENT_FAILURE };
  return { reason: Reason.UpstreamError, policy: TRANSIENT_FAILURE };
}

/**
 * Backoff after the n-th consecutive failure, with ±20% jitter so resources failing together spread out. An
 * upstream Retry-After is a floor, never shortened by jitter.
 */
export function retryDelay(error: unknown, failures: number, random: number): number {
  const c = classify(error);
  return Math.max(
    backoffDelay(c.policy, failures, () => random),
    c.floorMs ?? 0,
  );
}

/** Error text for status, Events and logs. Provider errors are built without values; others are cut short. */
export function describe(error: unknown): string {
  if (ProviderError.is(error)) return `${error.code}: ${error.message}`;
  const status = statusCodeOf(error);
  if (status !== undefined) {
    // client-node's ApiException message embeds headers and the body; the Status message is what a human needs.
    const body = (error as { body?: { message?: string } }).body;
    return `Kubernetes API ${status}: ${body?.message ?? 'request failed'}`.slice(0, 512);
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 512);
}

/**
 * Stages a failure in status (reason, message, count, next attempt) and queues a Warning Event; returns how long to
 * wait. The next attempt lives in status, so neither an unrelated event nor a restart can cause a hot loop.
 */
export function recordFailure(round: Round, error: unknown, event: string, context?: string): number {
  const message = context ? `${context}: ${describe(error)}` : describe(error);
  const failures = (round.status.failureCount ?? 0) + 1;
  const delayMs = retryDelay(error, failures, round.deps.random());
  const { reason } = classify(error);
  round.set({
    lastFailure: message.slice(0, 4096),
    lastFailureReason: reason,
    lastFailureTime: rfc3339(round.now),
    lastFailureRenewRequest: round.sat.metadata.annotations?.[RENEW_ANNOTATION] ?? null,
    failureCount: failures,
    nextAttemptAt: new Date(round.now.getTime() + delayMs).toISOString(),
  });
  round.event('Warning', event, message);
  round.deps.logger.warn({ ...round.log(), reason, failures, retryInMs: Math.round(delayMs) }, message);
  return delayMs;
}

/**
 * How long the credentials API is still left alone after the last failure (status.nextAttemptAt), or 0. A user who
 * changed something since the failure gets an attempt at once, as the runbook promises: a spec change (a generation
 * this controller has not observed yet) or a new tokensync.io/renew-requested-at value (kubectl tokensync renew).
 * The attempt that follows records the new generation and value, so this never loops: one attempt per user action.
 */
export function backoffRemainingMs(round: Round): number {
  const status = round.status;
  if (!status.nextAttemptAt) return 0;
  const remaining = Date.parse(status.nextAttemptAt) - round.now.getTime();
  if (remaining <= 0) return 0;
  if (round.sat.metadata.generation !== undefined && status.observedGeneration !== round.sat.metadata.generation) {
    return 0;
  }
  const requested = round.sat.metadata.annotations?.[RENEW_ANNOTATION];
  if (
    requested !== undefined &&
    requested !== status.lastFailureRenewRequest &&
    requested !== status.lastRenewRequest
  ) {
    return 0;
  }
  return remaining;
}

/** The fields a success clears. */
export const CLEARED_FAILURE = {
  lastFailure: null,
  lastFailureReason: null,
  lastFailureTime: null,
  lastFailureRenewRequest: null,
  failureCount: null,
  nextAttemptAt: null,
} as const;
