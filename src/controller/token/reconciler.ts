import {
  EventReason,
  FINALIZER,
  Reason,
  type ServiceAccountToken,
  serviceAccountTokenSpecSchema,
} from '../../api/v1alpha1/index.ts';
import { isPassthroughTokenId } from '../../providers/passthrough.ts';
import { secretNameOf } from '../naming.ts';
import { earliest, type ReconcileResult } from '../result.ts';
import { DEFAULT_TEMPLATE, validateTemplate } from '../template.ts';
import type { TokenDeps } from './deps.ts';
import { backoffRemainingMs } from './failure.ts';
import { finalize } from './finalize.ts';
import { issue } from './issue.ts';
import { openJournal } from './journal.ts';
import { evaluate } from './policies/chain.ts';
import { settle } from './readiness.ts';
import { recover } from './recover.ts';
import { alignRenewalToWindows } from './renewal-window.ts';
import { restartOwed } from './restart.ts';
import { revokeDue } from './retire.ts';
import { Round } from './round.ts';
import { syncSecretMetadata } from './secret-metadata.ts';

/** How often a resource waiting for its provider is looked at again (provider events also wake it). */
const PROVIDER_RETRY_MS = 30_000;
/** How often a resource whose Secret name is taken by someone else is looked at again (Secret events also wake it). */
const CONFLICT_RETRY_MS = 5 * 60_000;

/**
 * Reconciles one ServiceAccountToken from observed state. A short dispatcher: each decision lives in its own module
 * (policies/ says whether to mint, issue.ts mints, recover.ts settles an interrupted mint, restart.ts restarts
 * workloads after a rotation, retire.ts revokes after the grace period or once those rolled out, renewal-window.ts
 * keeps the renewal time inside spec.renewal.windows, finalize.ts handles deletion, secret-metadata.ts keeps the
 * Secret's labels, readiness.ts says Ready). Whatever a step does or throws, readiness.ts's `settle` runs last, so
 * status and metrics always tell the token's real state. Level-triggered and idempotent: with nothing to do, it
 * writes nothing.
 */
export class TokenReconciler {
  readonly #deps: TokenDeps;

  constructor(deps: TokenDeps) {
    this.#deps = deps;
  }

  async reconcile(sat: ServiceAccountToken): Promise<ReconcileResult> {
    const round = new Round(this.#deps, sat);
    if (sat.metadata.deletionTimestamp) {
      if (!sat.metadata.finalizers?.includes(FINALIZER)) return {};
      const outcome = await guarded(round, () => finalize(round), { deleting: true });
      return outcome.released ? {} : { requeueAfterMs: outcome.requeueAfterMs };
    }
    const wait = await guarded(round, () => this.#live(round));
    return { requeueAfterMs: earliest(wait, nextWake(round)) };
  }

  /** The live resource: validate, observe the Secret, settle an interrupted mint, decide, mint, retire. */
  async #live(round: Round): Promise<number | undefined> {
    const parsed = serviceAccountTokenSpecSchema.safeParse(round.sat.spec);
    const templateProblems = validateTemplate(round.sat.spec.secret?.template ?? DEFAULT_TEMPLATE);
    if (!parsed.success || templateProblems.length) {
      round.problem = {
        reason: Reason.InvalidSpec,
        message: parsed.success
          ? templateProblems.join('; ')
          : parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
        blocksReady: true,
        event: EventReason.InvalidSpec,
      };
      return undefined; // Waits for a spec change; requeueing would not help.
    }
    round.sat = { ...round.sat, spec: parsed.data };

    await observeSecret(round);

    // After a failure, unless the user changed something, the credentials API is not called before nextAttemptAt,
    // whatever woke us: not to settle an interrupted mint, not to mint.
    const backoffMs = backoffRemainingMs(round);

    const journal = openJournal(round.sat);
    if (journal) {
      if (backoffMs > 0) {
        round.violation = {
          action: 'mint',
          reason: Reason.Renewing,
          message: `Settling the interrupted issue of token ${journal.name}`,
        };
        return backoffMs;
      }
      const wait = await recover(round, journal);
      if (wait !== undefined) return wait;
    }

    const passthroughFingerprint = await currentPassthroughId(round);
    const input = () => ({ sat: round.view(), secret: round.secret, now: round.now, passthroughFingerprint });
    let violation = evaluate(input());
    if (violation && violation.action !== 'rotate' && !round.secretLive) {
      // Decisions from the Secret's state are confirmed with a live read: a stale cache must never mint.
      await readSecret(round);
      violation = evaluate(input());
    }

    if (violation?.action === 'conflict') {
      round.problem = {
        reason: violation.reason,
        message: violation.message,
        blocksReady: true,
        event: EventReason.SecretConflict,
      };
      return CONFLICT_RETRY_MS;
    }

    let wait: number | undefined;
    if (violation) {
      round.violation = violation;
      if (backoffMs > 0) {
        wait = backoffMs;
      } else {
        const r = await round.resolve();
        if (!r.ok) {
          round.problem = {
            reason: r.reason,
            message: r.message,
            blocksReady: false,
            event: EventReason.ProviderNotReady,
          };
          return PROVIDER_RETRY_MS;
        }
        wait = await issue(round, r, violation);
      }
    } else if (round.secret) {
      await syncSecretMetadata(round, round.secret);
      alignRenewalToWindows(round);
    }
    const restartWait = await restartOwed(round);
    return earliest(wait, restartWait, await revokeDue(round));
  }
}

/**
 * Runs a reconcile's steps and then, always, `settle` (conditions, one status write, Events, metrics). An error in
 * a step is rethrown after settle recorded what it could, so the work queue retries with backoff.
 */
async function guarded<T>(round: Round, steps: () => Promise<T>, options: { deleting?: boolean } = {}): Promise<T> {
  let result: T;
  try {
    result = await steps();
  } catch (error) {
    await settle(round, options).catch((settleError: unknown) =>
      round.deps.logger.warn({ ...round.log(), err: String(settleError) }, 'could not record status after a failure'),
    );
    throw error;
  }
  if (options.deleting && (result as { released?: boolean }).released) return result;
  await settle(round, options);
  return result;
}

/**
 * The Secret as this round should see it. The cache holds metadata only; when the Secret's resourceVersion is the
 * one status recorded, nothing changed since our last write or check. Any other version (someone edited it, or
 * this is the first look after an upgrade) and any open journal are confirmed with a live read, which carries the
 * data's keyed hash.
 */
async function observeSecret(round: Round): Promise<void> {
  const cached = round.deps.cachedSecret(round.namespace, secretNameOf(round.sat));
  round.secret = cached;
  const status = round.status;
  const recorded = status.secretResourceVersion;
  const unchanged = cached && recorded && cached.metadata.resourceVersion === recorded;
  if (openJournal(round.sat) || (status.tokenId && !unchanged)) await readSecret(round);
  // The data is what we wrote (only metadata changed, or a 0.1 hash): remember this version so it is not read again.
  const live = round.secret;
  if (round.secretLive && live && status.secretHash && matchesRecordedHash(live, status.secretHash)) {
    if (live.metadata.resourceVersion !== recorded) round.set({ secretResourceVersion: live.metadata.resourceVersion });
    if (live.dataHash && live.dataHash !== status.secretHash) round.set({ secretHash: live.dataHash });
  }
}

async function readSecret(round: Round): Promise<void> {
  round.secret = await round.deps.secrets.get(round.namespace, secretNameOf(round.sat));
  round.secretLive = true;
}

/** Whether the hash status recorded describes this Secret's data (with the current key, or as 0.1 computed it). */
export function matchesRecordedHash(secret: { dataHash?: string; legacyDataHash?: string }, recorded: string): boolean {
  return secret.dataHash === recorded || secret.legacyDataHash === recorded;
}

/**
 * For a passthrough token, the id the current credential would have: a difference means the user replaced the
 * credential and the Secret must follow. Resolving costs a cached lookup, so only passthrough tokens pay it.
 */
async function currentPassthroughId(round: Round): Promise<string | undefined> {
  if (!isPassthroughTokenId(round.status.tokenId)) return undefined;
  const r = await round.resolve();
  return r.ok ? r.client.passthrough?.tokenId : undefined;
}

/**
 * When this resource needs looking at again by the clock: renewal, expiry, or a grace period ending. Times already
 * past are left out: what is due now was acted on in this round, and a step that had to wait said how long.
 */
function nextWake(round: Round): number | undefined {
  const status = round.sat.status ?? {};
  const future = (time: string | undefined) => {
    const ms = time ? Date.parse(time) - round.now.getTime() : undefined;
    return ms !== undefined && ms > 0 ? ms : undefined;
  };
  return earliest(
    future(status.renewalTime),
    future(status.expiresAt),
    ...(status.retiring ?? []).map((t) => future(t.revokeAt)),
  );
}
