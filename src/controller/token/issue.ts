import { EventReason, FINALIZER, RENEW_ANNOTATION } from '../../api/v1alpha1/index.ts';
import { failpoint } from '../../failpoints.ts';
import type { ObservedSecret, SecretManifest } from '../../kube/secrets.ts';
import { ProviderError } from '../../providers/errors.ts';
import { isPassthroughTokenId } from '../../providers/passthrough.ts';
import { SecretValue } from '../../providers/secret-value.ts';
import type { IssuedToken } from '../../providers/types.ts';
import { rfc3339 } from '../conditions.ts';
import { parseDuration } from '../durations.ts';
import { accountRef, upstreamTokenName } from '../naming.ts';
import type { Resolution } from '../provider-resolver.ts';
import { ShardNotHeldError } from '../result.ts';
import { renewalTime } from '../schedule.ts';
import { tokenSpecHash } from '../spec-hash.ts';
import { TemplateError } from '../template.ts';
import {
  CLEARED_FAILURE,
  describe,
  isRefusedWrite,
  recordFailure,
  SecretRejectedError,
  ValueRejectedError,
  WriteRejectedError,
} from './failure.ts';
import { journalAnnotation } from './journal.ts';
import type { Violation } from './policies/checks.ts';
import { oweRestarts } from './restart.ts';
import { graceEnd, nextRevocationMs, RETIRING_ROTATION_LIMIT, retire } from './retire.ts';
import type { Round } from './round.ts';
import { buildSecret } from './secret-manifest.ts';
import { checkValue } from './value-check.ts';

type ResolvedOk = Extract<Resolution, { ok: true }>;

/** A placeholder of a typical token's size, for the dry-run write before a mint. Never a real value. */
const DRY_RUN_VALUE = new SecretValue('tokensync-dry-run-placeholder-0000000000000000');

/**
 * Mints a token and puts it in the Secret, in at most three writes to the API server:
 *   1. the journal (and, on a first issue, the finalizer) in one resourceVersion-guarded write to the resource:
 *      a stale cache or a second replica gets a conflict here instead of minting, and after a crash the journal
 *      names the token to find and revoke;
 *   2. the Secret (created, or replaced conditionally on the version we looked at);
 *   3. the status (staged here, written by readiness.ts's settle together with the conditions).
 * A value that cannot be stored, or a Secret write the API server refuses, revokes the fresh token at once; after
 * a refusal (and always for providers that cannot revoke) a server-side dry-run of the Secret comes before the next
 * mint, so a write that cannot succeed costs no upstream token. Returns a retry delay on failure.
 */
export async function issue(round: Round, r: ResolvedOk, violation: Violation): Promise<number | undefined> {
  const { client } = r;
  const status = round.status;

  // Make before break needs room on the retiring list; wait for the oldest grace period instead of overflowing.
  if (status.tokenId && (status.retiring?.length ?? 0) >= RETIRING_ROTATION_LIMIT) {
    round.violation = {
      ...violation,
      message: `${violation.message}; waiting until ${status.retiring?.length} retired tokens are revoked`,
    };
    return nextRevocationMs(round);
  }

  const revision = Math.max(status.revision ?? 0, 0) + 1;
  const name = upstreamTokenName(round.sat, revision);
  const existing = round.secret;

  const mustDryRun = !client.capabilities.revoke || status.lastFailureReason === 'SecretRejected';
  if (mustDryRun) {
    const placeholder = buildSecret(round.sat, { id: name, name, value: DRY_RUN_VALUE }, revision, round.now);
    try {
      await writeSecret(round, placeholder, existing, { dryRun: true });
    } catch (error) {
      return recordFailure(
        round,
        asSecretFailure(error),
        EventReason.SecretRejected,
        `Secret ${placeholder.metadata.name} cannot be written (checked with a dry run; nothing was minted)`,
      );
    }
  }

  round.deps.logger.info({ ...round.log(), revision, action: violation.action, reason: violation.reason }, 'issuing');
  // The provider and its credential must outlive what is minted with them (namespace teardown, R3).
  await round.deps.protect?.(r);
  // Sharding: a replica whose shard Lease lapsed or moved stops before anything is minted.
  if (round.deps.mayAct && !round.deps.mayAct(round.namespace, round.name)) {
    throw new ShardNotHeldError(`shard of ${round.namespace}/${round.name} is no longer held`);
  }
  try {
    await journal(round, name, revision);
  } catch (error) {
    // A conflict (stale cache, another replica) is retried by the work queue as usual; a refusal would be refused
    // again, so it is recorded where the user looks, with the slow backoff of any refusal a human must fix.
    if (!isRefusedWrite(error)) throw error;
    return recordFailure(
      round,
      new WriteRejectedError(`the API server refused the write to this resource: ${describe(error)}`, {
        cause: error,
      }),
      EventReason.WriteRejected,
      'Nothing was minted',
    );
  }
  failpoint('after-journal');

  let issued: IssuedToken;
  try {
    const spec = round.sat.spec;
    issued = await client.issue({
      ...accountRef(round.sat),
      name,
      ...(spec.lifetime ? { lifetimeSeconds: Math.round(parseDuration(spec.lifetime) / 1000) } : {}),
      readOnly: spec.readOnly ?? false,
      scopes: spec.scopes ?? [],
      attributes: spec.attributes ?? {},
      owner: { namespace: round.namespace, name: round.name, uid: round.sat.metadata.uid! },
    });
  } catch (error) {
    round.deps.metrics?.mints.inc({ provider: r.providerKey, result: 'error' });
    // A definite refusal minted nothing: close the journal. Anything else may have minted: leave it open, and the
    // next round finds the token by name (recover.ts) before minting again.
    const definite = ProviderError.is(error) && (error.code === 'Permanent' || error.code === 'RateLimited');
    if (definite) round.set({ revision, pending: null });
    return recordFailure(round, error, EventReason.IssueFailed);
  }
  round.deps.metrics?.mints.inc({ provider: r.providerKey, result: 'success' });
  failpoint('after-mint');

  let written: ObservedSecret;
  let writtenAt: Date;
  try {
    checkValue(issued.value);
    written = await writeSecret(round, renderSecret(round, issued, revision), existing, {});
    failpoint('after-secret');
    writtenAt = new Date(round.deps.clock.now());
  } catch (error) {
    // The value only lives in this process: if it cannot reach the Secret, revoke it now rather than leak it.
    const failure = asSecretFailure(error);
    await revokeUnused(round, r, issued, revision);
    return recordFailure(
      round,
      failure,
      failure instanceof SecretRejectedError
        ? EventReason.SecretRejected
        : failure instanceof ValueRejectedError
          ? EventReason.ValueRejected
          : EventReason.IssueFailed,
      `Token ${issued.name} was minted but not stored`,
    );
  }

  const previous = status.tokenId && status.tokenId !== issued.id ? status : undefined;
  if (previous?.tokenId && client.capabilities.revoke && !isPassthroughTokenId(previous.tokenId)) {
    retire(
      round,
      {
        tokenId: previous.tokenId,
        ...(previous.tokenName ? { name: previous.tokenName } : {}),
        ...(previous.revision !== undefined ? { revision: previous.revision } : {}),
      },
      graceEnd(round, previous.expiresAt),
    );
  }
  stageIssued(round, {
    id: issued.id,
    name: issued.name,
    revision,
    issuedAt: round.now,
    expiresAt: issued.expiresAt,
    secret: written,
  });
  round.secret = written;
  round.secretLive = true;
  round.violation = undefined;

  const event =
    violation.action === 'repair' ? EventReason.SecretRepaired : previous ? EventReason.Renewed : EventReason.Issued;
  const message =
    event === EventReason.Issued
      ? `Issued token ${issued.name} into Secret ${written.metadata.name}`
      : event === EventReason.Renewed
        ? `Rotated to token ${issued.name} in Secret ${written.metadata.name} (${violation.message})`
        : `Secret ${written.metadata.name} repaired with token ${issued.name}: ${violation.message}`;
  round.event('Normal', event, message);
  round.deps.logger.info(
    { ...round.log(), tokenName: issued.name, revision, reason: violation.reason, provider: r.providerKey },
    message,
  );
  // Consumers that read the token only at start need a restart (restart.ts performs it, batched with other tokens).
  if (previous) oweRestarts(round, revision, writtenAt);
  return undefined;
}

/**
 * Stages in status what a successful issue (or the recovery of one whose status write was lost) knows: the token,
 * its schedule, the Secret's version and hash, the spec and renew request it answers; failures cleared.
 */
export function stageIssued(
  round: Round,
  token: {
    id: string;
    name: string;
    revision: number;
    issuedAt: Date;
    expiresAt: Date | undefined;
    secret: ObservedSecret;
  },
): void {
  const renewal = renewalTime(round.sat.spec, token.issuedAt, token.expiresAt, round.deps.random());
  round.set({
    pending: null,
    tokenId: token.id,
    tokenName: token.name,
    revision: token.revision,
    issuedAt: rfc3339(token.issuedAt),
    expiresAt: token.expiresAt ? rfc3339(token.expiresAt) : null,
    renewalTime: renewal ? rfc3339(renewal) : null,
    secretName: token.secret.metadata.name,
    secretHash: token.secret.dataHash ?? null,
    secretResourceVersion: token.secret.metadata.resourceVersion ?? null,
    specHash: tokenSpecHash(round.sat),
    lastRenewRequest: round.sat.metadata.annotations?.[RENEW_ANNOTATION] ?? null,
    ...CLEARED_FAILURE,
  });
}

/** Write 1: the journal, plus the finalizer if missing, guarded by the resourceVersion this round decided on. */
async function journal(round: Round, name: string, revision: number): Promise<void> {
  const finalizers = round.sat.metadata.finalizers ?? [];
  round.sat = await round.deps.tokens.patchMetadata(
    round.sat,
    {
      annotations: journalAnnotation({ name, revision, startedAt: rfc3339(round.now) }),
      ...(finalizers.includes(FINALIZER) ? {} : { finalizers: [...finalizers, FINALIZER] }),
    },
    { resourceVersion: round.sat.metadata.resourceVersion! },
  );
}

/** Creates the Secret, or replaces the one we own conditionally on the version this round read. */
function writeSecret(
  round: Round,
  manifest: SecretManifest,
  existing: ObservedSecret | undefined,
  options: { dryRun?: boolean },
): Promise<ObservedSecret> {
  if (!existing) return round.deps.secrets.create(manifest, options);
  return round.deps.secrets.replace(
    manifest,
    { keys: existing.dataKeys ?? [], resourceVersion: existing.metadata.resourceVersion! },
    options,
  );
}

/** The Secret for a fresh token; data too large for a Secret is a ValueRejectedError (the token is revoked). */
function renderSecret(round: Round, issued: IssuedToken, revision: number): SecretManifest {
  try {
    return buildSecret(round.sat, issued, revision, round.now);
  } catch (error) {
    if (error instanceof TemplateError) throw new ValueRejectedError(error.message);
    throw error;
  }
}

/** Refusals the API server will repeat become SecretRejectedError; everything else is left as it is. */
function asSecretFailure(error: unknown): unknown {
  if (isRefusedWrite(error)) {
    return new SecretRejectedError(`the API server refused the Secret: ${describe(error)}`, undefined, {
      cause: error,
    });
  }
  return error;
}

/**
 * Revokes a token that never reached the Secret. On success the journal is closed; if the revocation fails too, the
 * journal stays open and recovery revokes the token by name later (nothing is leaked either way).
 */
async function revokeUnused(round: Round, r: ResolvedOk, issued: IssuedToken, revision: number): Promise<void> {
  if (!r.client.capabilities.revoke || isPassthroughTokenId(issued.id)) {
    round.set({ revision, pending: null });
    return;
  }
  try {
    await r.client.revoke({
      id: issued.id,
      name: issued.name,
      ...accountRef(round.sat),
    });
    round.deps.metrics?.revocations.inc({ provider: r.providerKey, result: 'success' });
    failpoint('after-revoke');
    round.set({ revision, pending: null });
  } catch (error) {
    round.deps.metrics?.revocations.inc({ provider: r.providerKey, result: 'error' });
    round.deps.logger.warn(
      { ...round.log(), tokenName: issued.name, err: describe(error) },
      'could not revoke a token that was not stored; recovery will revoke it by name',
    );
  }
}
