import { EventReason } from '../../api/v1alpha1/index.ts';
import { failpoint } from '../../failpoints.ts';
import type { ObservedSecret } from '../../kube/secrets.ts';
import { isPassthroughTokenId } from '../../providers/passthrough.ts';
import type { ProviderClient } from '../../providers/types.ts';
import { upstreamAccountOf } from '../naming.ts';
import type { Resolution } from '../provider-resolver.ts';
import { recordFailure } from './failure.ts';
import { stageIssued } from './issue.ts';
import type { Journal } from './journal.ts';
import { graceEnd, retire } from './retire.ts';
import type { Round } from './round.ts';
import {
  EXPIRES_AT_ANNOTATION,
  ISSUED_AT_ANNOTATION,
  REVISION_ANNOTATION,
  TOKEN_ID_ANNOTATION,
  TOKEN_NAME_ANNOTATION,
} from './secret-manifest.ts';

/**
 * How long after an interrupted mint call its token may still appear upstream (the API may execute a request whose
 * client died). Recovery keeps revoking that name until then. Longer than the default upstream timeout of 10 s.
 */
export const IN_FLIGHT_WINDOW_MS = 20_000;

type ResolvedOk = Extract<Resolution, { ok: true }>;

/**
 * Settles a journaled mint whose outcome was never recorded (a crash, a timeout). If the Secret already carries that
 * revision, only the status write was lost: finish it from the Secret's annotations. Otherwise the token may exist
 * upstream without anyone holding it: find it by its deterministic name and revoke it, and keep its name on the
 * retiring list until a late execution of the dead request can no longer create it. Persists the outcome before
 * anything else happens, so a new journal never overwrites an unsettled one.
 * Returns a retry delay when recovery cannot proceed yet.
 */
export async function recover(round: Round, journal: Journal): Promise<number | undefined> {
  const secret = round.secret;
  const annotations = secret?.metadata.annotations ?? {};
  if (secret && annotations[REVISION_ANNOTATION] === String(journal.revision) && annotations[TOKEN_ID_ANNOTATION]) {
    await finishFromSecret(round, journal, secret);
    return undefined;
  }
  round.deps.logger.info(
    { ...round.log(), tokenName: journal.name, revision: journal.revision },
    'recovering an interrupted issue: revoking its token if it was minted',
  );
  const r = await round.resolve();
  if (!r.ok) {
    round.problem = {
      reason: r.reason,
      message: `Cannot settle the interrupted issue of token ${journal.name}: ${r.message}`,
      blocksReady: false,
      event: EventReason.ProviderNotReady,
    };
    return 30_000;
  }
  let outcome: Awaited<ReturnType<typeof revokeLeftover>>;
  try {
    outcome = await revokeLeftover(round, r, journal.name);
  } catch (error) {
    // The journal stays open; the failure is recorded (and backed off in status) like any upstream failure.
    return recordFailure(
      round,
      error,
      EventReason.IssueFailed,
      `Could not settle the interrupted issue of token ${journal.name}`,
    );
  }
  const watchUntil = Date.parse(journal.startedAt) + IN_FLIGHT_WINDOW_MS;
  if (outcome === 'absent' && watchUntil > round.now.getTime()) {
    // Not there yet, but the dead process's request may still land: revoke the name again once the window ends
    // (a 404 then counts as done), through the same retiring list that grace periods use.
    retire(round, { tokenId: journal.name, name: journal.name }, new Date(watchUntil));
  }
  round.set({ revision: journal.revision, pending: null });
  await round.flush({ resourceVersion: round.sat.metadata.resourceVersion! });
  return undefined;
}

/** The Secret holds the journaled revision: record it in status as the issue would have. */
async function finishFromSecret(round: Round, journal: Journal, secret: ObservedSecret): Promise<void> {
  const annotations = secret.metadata.annotations ?? {};
  const status = round.status;
  const tokenId = annotations[TOKEN_ID_ANNOTATION]!;
  const issuedAt = new Date(annotations[ISSUED_AT_ANNOTATION] ?? round.now.toISOString());
  const expiresAt = annotations[EXPIRES_AT_ANNOTATION] ? new Date(annotations[EXPIRES_AT_ANNOTATION]) : undefined;
  if (status.tokenId && status.tokenId !== tokenId && !isPassthroughTokenId(status.tokenId)) {
    const r = await round.resolve();
    if (!r.ok || r.client.capabilities.revoke) {
      retire(
        round,
        { tokenId: status.tokenId, ...(status.tokenName ? { name: status.tokenName } : {}) },
        graceEnd(round, status.expiresAt),
      );
    }
  }
  round.deps.logger.info(
    { ...round.log(), revision: journal.revision },
    'completing an issue interrupted after the Secret write',
  );
  stageIssued(round, {
    id: tokenId,
    name: annotations[TOKEN_NAME_ANNOTATION] ?? journal.name,
    revision: journal.revision,
    issuedAt,
    expiresAt,
    secret,
  });
  await round.flush({ resourceVersion: round.sat.metadata.resourceVersion! });
}

/**
 * Looks up a token whose issue was interrupted and revokes it. 'absent' is not final: a mint request that was in
 * flight when the process died can still be executed by the API after this lookup, so callers keep watching the
 * name for IN_FLIGHT_WINDOW_MS.
 */
export async function revokeLeftover(
  round: Round,
  r: ResolvedOk,
  name: string,
): Promise<'revoked' | 'absent' | 'unknowable'> {
  const client: ProviderClient = r.client;
  if (!client.capabilities.revoke) return 'revoked'; // Exchange/ephemeral tokens expire on their own (short TTL).
  if (!client.capabilities.lookupByName) {
    // The API cannot find a token by the name we gave it: revoking "by name" would 404 and look like success.
    // Say so instead, so a human (or revoke-orphans) can check.
    const message = `An issue of token ${name} was interrupted and this provider cannot look tokens up by name: if it was minted it is still live. List the service account's tokens upstream (kubectl tokensync revoke-orphans --dry-run) and revoke any that no Secret holds`;
    round.event('Warning', EventReason.RevokeFailed, message);
    round.deps.logger.warn({ ...round.log(), tokenName: name }, message);
    return 'unknowable';
  }
  const serviceAccount = upstreamAccountOf(round.sat);
  const found = await client.lookup({ name, ...(serviceAccount ? { serviceAccount } : {}) });
  failpoint('after-lookup');
  if (!found) return 'absent';
  await client.revoke({ id: found.id, name, ...(serviceAccount ? { serviceAccount } : {}) });
  failpoint('after-revoke');
  round.deps.metrics?.revocations.inc({ provider: r.providerKey, result: 'success' });
  round.deps.logger.info({ ...round.log(), tokenName: name }, 'revoked a token left by an interrupted issue');
  return 'revoked';
}
