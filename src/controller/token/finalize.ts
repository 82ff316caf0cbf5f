import { EventReason, FINALIZER, Reason } from '../../api/v1alpha1/index.ts';
import { failpoint } from '../../failpoints.ts';
import { isPassthroughTokenId } from '../../providers/passthrough.ts';
import { secretNameOf, upstreamAccountOf } from '../naming.ts';
import { recordFailure } from './failure.ts';
import { openJournal } from './journal.ts';
import { IN_FLIGHT_WINDOW_MS, revokeLeftover } from './recover.ts';
import type { Round } from './round.ts';

/** How often a deletion waiting for its provider is looked at again (provider events also wake it). */
const PROVIDER_RETRY_MS = 30_000;

export type FinalizeOutcome = { released: true } | { released: false; requeueAfterMs: number };

/**
 * Deletion: revokes every live token of the resource (current, retiring, and one an interrupted issue may have
 * minted) unless deletionPolicy is Retain, removes the Secret, then releases the finalizer. The finalizer stays
 * until upstream confirms; 404 counts as revoked. The provider and its credential cannot disappear first: they carry
 * the in-use finalizer while this resource does (controller/provider/protection.ts).
 */
export async function finalize(round: Round): Promise<FinalizeOutcome> {
  const sat = round.sat;
  const status = round.status;
  const namespace = round.namespace;
  if ((sat.spec.deletionPolicy ?? 'Revoke') === 'Revoke') {
    // One revoke per token: the current token can also be on the retiring list (e.g. after a recovery).
    const tokens = new Map<string, string | undefined>();
    if (status.tokenId) tokens.set(status.tokenId, status.tokenName);
    for (const t of status.retiring ?? []) if (!tokens.has(t.tokenId)) tokens.set(t.tokenId, t.name);
    for (const id of [...tokens.keys()]) if (isPassthroughTokenId(id)) tokens.delete(id);
    const journal = openJournal(sat);
    if (tokens.size || journal) {
      const r = await round.resolve();
      if (!r.ok) {
        round.problem = {
          reason: Reason.Revoking,
          message: `Cannot revoke upstream tokens: ${r.message}. Fix the provider, or release the resource without revoking: kubectl patch sat ${sat.metadata.name} -n ${namespace} --type merge -p '{"spec":{"deletionPolicy":"Retain"}}'`,
          blocksReady: true,
          event: EventReason.RevokeFailed,
        };
        return { released: false, requeueAfterMs: PROVIDER_RETRY_MS };
      }
      if (r.client.capabilities.revoke) {
        try {
          if (journal) {
            const outcome = await revokeLeftover(round, r, journal.name);
            const waitMs = Date.parse(journal.startedAt) + IN_FLIGHT_WINDOW_MS - round.now.getTime();
            if (outcome === 'absent' && waitMs > 0) {
              round.deps.logger.info(
                { ...round.log(), tokenName: journal.name },
                'waiting for a possibly in-flight issue before releasing',
              );
              return { released: false, requeueAfterMs: waitMs };
            }
          }
          const serviceAccount = upstreamAccountOf(sat);
          for (const [id, name] of tokens) {
            await r.client.revoke({ id, ...(name ? { name } : {}), ...(serviceAccount ? { serviceAccount } : {}) });
            failpoint('after-revoke');
            round.deps.metrics?.revocations.inc({ provider: r.providerKey, result: 'success' });
          }
        } catch (error) {
          round.deps.metrics?.revocations.inc({ provider: r.providerKey, result: 'error' });
          return { released: false, requeueAfterMs: recordFailure(round, error, EventReason.RevokeFailed) };
        }
        if (tokens.size) {
          const names = [...tokens].map(([id, name]) => name ?? id).join(', ');
          round.event('Normal', EventReason.Revoked, `Revoked ${tokens.size} token(s) on deletion: ${names}`);
        }
      }
    }
    const secret = await round.deps.secrets.get(namespace, secretNameOf(sat));
    if (secret?.metadata.ownerReferences?.some((ref) => ref.uid === sat.metadata.uid)) {
      await round.deps.secrets.delete(namespace, secret.metadata.name, secret.metadata.uid!);
    }
  } else {
    // Retain: the tokens stay live, so the Secret holding them stays too (no longer garbage-collected with us).
    const secret = await round.deps.secrets.get(namespace, secretNameOf(sat));
    if (secret?.metadata.ownerReferences?.some((ref) => ref.uid === sat.metadata.uid)) {
      await round.deps.secrets.patchMetadata(namespace, secret.metadata.name, { ownerReferences: null });
    }
  }
  round.emitEvents();
  await round.deps.tokens.patchMetadata(
    sat,
    { finalizers: (sat.metadata.finalizers ?? []).filter((f) => f !== FINALIZER) },
    { resourceVersion: sat.metadata.resourceVersion! },
  );
  round.deps.metrics?.forgetToken(namespace, sat.metadata.name);
  round.deps.logger.info({ ...round.log(), policy: sat.spec.deletionPolicy ?? 'Revoke' }, 'finalized');
  return { released: true };
}
