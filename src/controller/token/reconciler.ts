import {
  ConditionType,
  EventReason,
  FINALIZER,
  RENEW_ANNOTATION,
  Reason,
  type ServiceAccountToken,
  type ServiceAccountTokenStatus,
  serviceAccountTokenSpecSchema,
} from '../../api/v1alpha1/index.ts';
import { statusCodeOf } from '../../kube/client.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { ProviderError } from '../../providers/errors.ts';
import type { IssuedToken, ProviderClient } from '../../providers/types.ts';
import { getCondition, rfc3339, sameConditions, setCondition } from '../conditions.ts';
import { parseDuration } from '../durations.ts';
import { secretNameOf, upstreamTokenName } from '../naming.ts';
import type { ObservedSecret } from '../observed-secret.ts';
import type { EventSink, KubePort } from '../ports.ts';
import type { ProviderResolver, Resolution } from '../provider-resolver.ts';
import { earliest, type ReconcileResult, RequeueAfterError } from '../result.ts';
import { renewalTime } from '../schedule.ts';
import { tokenSpecHash } from '../spec-hash.ts';
import { DEFAULT_TEMPLATE, validateTemplate } from '../template.ts';
import { evaluate } from './policies/chain.ts';
import type { Violation } from './policies/checks.ts';
import {
  buildSecret,
  desiredLabels,
  desiredUserAnnotations,
  EXPIRES_AT_ANNOTATION,
  ISSUED_AT_ANNOTATION,
  REVISION_ANNOTATION,
  TOKEN_ID_ANNOTATION,
  TOKEN_NAME_ANNOTATION,
  USER_KEYS_ANNOTATION,
} from './secret-manifest.ts';

const DEFAULT_GRACE_MS = 5 * 60_000;
/**
 * How long after an interrupted mint call its token may still appear upstream (the API may execute a request whose
 * client died). Recovery keeps revoking that name until then. Longer than the default upstream timeout of 10 s.
 */
const IN_FLIGHT_WINDOW_MS = 20_000;
/** How often a resource waiting for its provider is looked at again (provider events also wake it). */
const PROVIDER_RETRY_MS = 30_000;

type Status = ServiceAccountTokenStatus;
type StatusPatch = Partial<Record<keyof Status, unknown>>;

export interface TokenReconcilerOptions {
  kube: KubePort;
  providers: ProviderResolver;
  /** The Secret informer's cache; always confirmed with a live read before it can cause a mint. */
  cachedSecret(namespace: string, name: string): ObservedSecret | undefined;
  events: EventSink;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  random?: () => number;
}

/**
 * Reconciles one ServiceAccountToken from observed state: finalizer, crash recovery of a journaled mint, the
 * issuing decision (policies/chain.ts), make-before-break rotation, grace-period revocation, Secret metadata,
 * readiness, and deletion. Level-triggered and idempotent: with nothing to do it writes nothing.
 */
export class TokenReconciler {
  readonly #o: TokenReconcilerOptions;

  constructor(options: TokenReconcilerOptions) {
    this.#o = options;
  }

  #now(): Date {
    return (this.#o.now ?? (() => new Date()))();
  }

  async reconcile(input: ServiceAccountToken): Promise<ReconcileResult> {
    let sat = input;
    if (sat.metadata.deletionTimestamp) return this.#finalize(sat);

    const parsed = serviceAccountTokenSpecSchema.safeParse(sat.spec);
    const templateProblems = validateTemplate(sat.spec.secret?.template ?? DEFAULT_TEMPLATE);
    if (!parsed.success || templateProblems.length) {
      const message = parsed.success
        ? templateProblems.join('; ')
        : parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ');
      await this.#setNotReady(sat, Reason.InvalidSpec, message, EventReason.InvalidSpec);
      return {}; // Waits for a spec change; requeueing would not help.
    }
    sat = { ...sat, spec: parsed.data };

    if (!sat.metadata.finalizers?.includes(FINALIZER)) {
      // Before the first mint, so a deletion can never skip revocation.
      sat = await this.#o.kube.setFinalizers(sat, [...(sat.metadata.finalizers ?? []), FINALIZER]);
    }

    const namespace = sat.metadata.namespace!;
    const secretName = secretNameOf(sat);
    let secret = this.#o.cachedSecret(namespace, secretName);
    let resolution: Resolution | undefined;
    const resolve = async () => {
      resolution ??= await this.#o.providers.resolve(sat);
      return resolution;
    };

    if (sat.status?.pending) {
      secret = await this.#o.kube.getSecret(namespace, secretName);
      sat = await this.#recoverPending(sat, secret, resolve);
    }

    // Passthrough providers (augment) have no upstream state: the credential is the token, so its change is news.
    let passthroughFingerprint: string | undefined;
    if (sat.status?.tokenId?.startsWith('passthrough:')) {
      const r = await resolve();
      if (r.ok) passthroughFingerprint = `passthrough:${r.credentialFingerprint}`;
    }

    let violation = evaluate({
      sat,
      secret,
      now: this.#now(),
      ...(passthroughFingerprint ? { passthroughFingerprint } : {}),
    });
    if (violation && violation.action !== 'rotate') {
      // Decisions from the Secret's state are confirmed with a live read: a stale cache must never mint.
      secret = await this.#o.kube.getSecret(namespace, secretName);
      violation = evaluate({
        sat,
        secret,
        now: this.#now(),
        ...(passthroughFingerprint ? { passthroughFingerprint } : {}),
      });
    }

    if (violation?.action === 'conflict') {
      await this.#setNotReady(sat, violation.reason, violation.message, EventReason.SecretConflict);
      return { requeueAfterMs: 5 * 60_000 };
    }

    const waitMs = sat.status?.nextAttemptAt ? Date.parse(sat.status.nextAttemptAt) - this.#now().getTime() : 0;
    if (violation && waitMs > 0) {
      // Backing off after a failure: whatever woke us, the credentials API is not called before nextAttemptAt.
      // Readiness still follows the clock: a token that expired meanwhile is reported as such.
      const expiresAt = sat.status?.expiresAt;
      if (isExpired(sat.status, this.#now())) {
        await this.#setNotReady(
          sat,
          Reason.Expired,
          `The token expired at ${expiresAt}; renewal keeps failing: ${sat.status?.lastFailure ?? ''}`,
          EventReason.IssueFailed,
        );
      }
      return { requeueAfterMs: waitMs };
    }
    if (violation) {
      const r = await resolve();
      if (!r.ok) {
        await this.#setNotReady(sat, r.reason, r.message, EventReason.ProviderNotReady, true);
        return { requeueAfterMs: PROVIDER_RETRY_MS };
      }
      sat = await this.#issue(sat, r, violation);
    } else if (secret) {
      await this.#syncSecretMetadata(sat, secret);
    }

    sat = await this.#revokeDue(sat, resolve);
    return this.#settle(sat);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Issuing

  async #issue(
    sat: ServiceAccountToken,
    r: Resolution & { ok: true },
    violation: Violation,
  ): Promise<ServiceAccountToken> {
    const { client, provider } = r;
    const now = this.#now();
    const status = sat.status ?? {};
    const revision = Math.max(status.revision ?? 0, status.pending?.revision ?? 0) + 1;
    const name = upstreamTokenName(sat, revision);
    const providerLabel = r.providerKey;
    this.#o.logger.info(
      {
        namespace: sat.metadata.namespace,
        name: sat.metadata.name,
        revision,
        action: violation.action,
        reason: violation.reason,
      },
      'issuing',
    );

    // Journal before the call, guarded by resourceVersion: a stale cache or a second leader gets a conflict
    // here instead of minting. After a crash, status.pending names the token to find and revoke.
    let journaled = await this.#o.kube.patchTokenStatus(
      sat,
      {
        pending: { name, revision, startedAt: rfc3339(now), tokenId: name },
        revision,
        conditions: setCondition(
          status.conditions,
          {
            type: ConditionType.Issuing,
            status: 'True',
            reason: violation.reason,
            message: violation.message,
            observedGeneration: sat.metadata.generation,
          },
          now,
        ),
      },
      { resourceVersion: sat.metadata.resourceVersion! },
    );

    let issued: IssuedToken;
    try {
      issued = await client.issue({
        ...(journaled.spec.serviceAccount ? { serviceAccount: journaled.spec.serviceAccount } : {}),
        name,
        ...(journaled.spec.lifetime
          ? { lifetimeSeconds: Math.round(parseDuration(journaled.spec.lifetime) / 1000) }
          : {}),
        readOnly: journaled.spec.readOnly ?? false,
        scopes: journaled.spec.scopes ?? [],
        attributes: journaled.spec.attributes ?? {},
        owner: {
          namespace: journaled.metadata.namespace!,
          name: journaled.metadata.name,
          uid: journaled.metadata.uid!,
        },
      });
    } catch (error) {
      this.#o.metrics?.mints.inc({ provider: providerLabel, result: 'error' });
      // A definite refusal minted nothing: drop the journal. Anything else may have minted: keep it for recovery.
      const definite = ProviderError.is(error) && (error.code === 'Permanent' || error.code === 'RateLimited');
      const delay = await this.#recordFailure(
        journaled,
        error,
        EventReason.IssueFailed,
        definite ? { pending: null } : {},
      );
      throw new RequeueAfterError(describe(error), delay);
    }
    this.#o.metrics?.mints.inc({ provider: providerLabel, result: 'success' });
    if (client.capabilities.mode === 'passthrough') {
      // The user's credential is the token: identify it by a fingerprint so replacing it is noticed.
      issued = { ...issued, id: `passthrough:${r.credentialFingerprint}` };
    }

    let written: ObservedSecret;
    try {
      written = await this.#o.kube.applySecret(buildSecret(journaled, issued, revision, now));
    } catch (error) {
      // The value only lives in this process: if it cannot reach the Secret, revoke it now rather than leak it.
      if (client.capabilities.revoke) {
        await client.revoke({ id: issued.id, name: issued.name, ...svc(journaled) }).then(
          async () => {
            journaled = await this.#o.kube.patchTokenStatus(journaled, { pending: null });
          },
          () => undefined, // status.pending stays; recovery revokes it later.
        );
      }
      const delay = await this.#recordFailure(journaled, error, EventReason.IssueFailed);
      throw new RequeueAfterError(describe(error), delay);
    }

    const previous = status.tokenId && status.tokenId !== issued.id ? status : undefined;
    const retiring = [...(status.retiring ?? [])];
    if (previous?.tokenId && client.capabilities.revoke) {
      const grace = journaled.spec.rotation?.gracePeriod
        ? parseDuration(journaled.spec.rotation.gracePeriod)
        : DEFAULT_GRACE_MS;
      retiring.push({
        tokenId: previous.tokenId,
        ...(previous.tokenName ? { name: previous.tokenName } : {}),
        ...(previous.revision !== undefined ? { revision: status.revision } : {}),
        revokeAt: rfc3339(new Date(now.getTime() + grace)),
      });
    }
    const renewal = renewalTime(journaled.spec, now, issued.expiresAt, (this.#o.random ?? Math.random)());
    const event =
      violation.action === 'repair' ? EventReason.SecretRepaired : previous ? EventReason.Renewed : EventReason.Issued;
    const message =
      event === EventReason.Issued
        ? `Issued token ${issued.name} into Secret ${written.metadata.name}`
        : event === EventReason.Renewed
          ? `Rotated to token ${issued.name} in Secret ${written.metadata.name} (${violation.message})`
          : `Secret ${written.metadata.name} repaired with token ${issued.name}: ${violation.message}`;

    const done = await this.#o.kube.patchTokenStatus(journaled, {
      pending: null,
      tokenId: issued.id,
      tokenName: issued.name,
      revision,
      issuedAt: rfc3339(now),
      expiresAt: issued.expiresAt ? rfc3339(issued.expiresAt) : null,
      renewalTime: renewal ? rfc3339(renewal) : null,
      secretName: written.metadata.name,
      secretHash: written.dataHash,
      specHash: tokenSpecHash(journaled),
      lastRenewRequest: journaled.metadata.annotations?.[RENEW_ANNOTATION] ?? null,
      retiring: retiring.length ? retiring : null,
      failureCount: null,
      lastFailure: null,
      lastFailureTime: null,
      nextAttemptAt: null,
      observedGeneration: journaled.metadata.generation,
      conditions: readyConditions(journaled, now, {
        ready: 'True',
        reason: client.capabilities.mode === 'passthrough' ? Reason.Passthrough : Reason.Issued,
        message: readyMessage(
          written.metadata.name,
          issued.name,
          issued.expiresAt ? rfc3339(issued.expiresAt) : undefined,
          client.capabilities.mode === 'passthrough',
        ),
      }),
    });
    this.#o.events.record(done, 'Normal', event, message);
    this.#o.logger.info(
      {
        namespace: done.metadata.namespace,
        name: done.metadata.name,
        tokenName: issued.name,
        revision,
        reason: violation.reason,
        provider: provider.metadata.name,
      },
      message,
    );
    if (previous) await this.#restartTargets(done, now);
    return done;
  }

  /**
   * A journaled mint whose outcome is unknown (crash, timeout). If the Secret already carries that revision, only
   * the status write was lost: finish it. Otherwise the token may exist upstream without anyone holding it:
   * find it by its deterministic name and revoke it, then clear the journal so a fresh revision is minted.
   */
  async #recoverPending(
    sat: ServiceAccountToken,
    secret: ObservedSecret | undefined,
    resolve: () => Promise<Resolution>,
  ): Promise<ServiceAccountToken> {
    const pending = sat.status!.pending!;
    const annotations = secret?.metadata.annotations ?? {};
    const now = this.#now();
    if (secret && annotations[REVISION_ANNOTATION] === String(pending.revision) && annotations[TOKEN_ID_ANNOTATION]) {
      const status = sat.status!;
      const issuedAt = new Date(annotations[ISSUED_AT_ANNOTATION] ?? now.toISOString());
      const expiresAt = annotations[EXPIRES_AT_ANNOTATION] ? new Date(annotations[EXPIRES_AT_ANNOTATION]) : undefined;
      const retiring = [...(status.retiring ?? [])];
      const r = await resolve();
      if (
        status.tokenId &&
        status.tokenId !== annotations[TOKEN_ID_ANNOTATION] &&
        (!r.ok || r.client.capabilities.revoke)
      ) {
        const grace = sat.spec.rotation?.gracePeriod ? parseDuration(sat.spec.rotation.gracePeriod) : DEFAULT_GRACE_MS;
        retiring.push({
          tokenId: status.tokenId,
          ...(status.tokenName ? { name: status.tokenName } : {}),
          revokeAt: rfc3339(new Date(now.getTime() + grace)),
        });
      }
      const renewal = renewalTime(sat.spec, issuedAt, expiresAt, (this.#o.random ?? Math.random)());
      this.#o.logger.info(
        { namespace: sat.metadata.namespace, name: sat.metadata.name, revision: pending.revision },
        'completing an issue interrupted after the Secret write',
      );
      return this.#o.kube.patchTokenStatus(
        sat,
        {
          pending: null,
          tokenId: annotations[TOKEN_ID_ANNOTATION],
          tokenName: annotations[TOKEN_NAME_ANNOTATION] ?? pending.name,
          issuedAt: rfc3339(issuedAt),
          expiresAt: expiresAt ? rfc3339(expiresAt) : null,
          renewalTime: renewal ? rfc3339(renewal) : null,
          secretName: secret.metadata.name,
          secretHash: secret.dataHash,
          specHash: tokenSpecHash(sat),
          lastRenewRequest: sat.metadata.annotations?.[RENEW_ANNOTATION] ?? null,
          retiring: retiring.length ? retiring : null,
          observedGeneration: sat.metadata.generation,
        },
        { resourceVersion: sat.metadata.resourceVersion! },
      );
    }
    this.#o.logger.info(
      {
        namespace: sat.metadata.namespace,
        name: sat.metadata.name,
        tokenName: pending.name,
        revision: pending.revision,
      },
      'recovering an interrupted issue: revoking its token if it was minted',
    );
    const r = await resolve();
    if (!r.ok)
      throw new RequeueAfterError(`cannot recover pending token ${pending.name}: ${r.message}`, PROVIDER_RETRY_MS);
    const name = pending.name ?? pending.tokenId;
    const outcome = await this.#revokeLeftover(sat, r.client, r.providerKey, name);
    const watchUntil = Date.parse(pending.startedAt) + IN_FLIGHT_WINDOW_MS;
    if (outcome === 'absent' && watchUntil > now.getTime()) {
      // Not there yet, but the dead process's request may still land: revoke the name again once the window ends
      // (a 404 then counts as done), through the same retiring list that grace periods use.
      const retiring = [
        ...(sat.status?.retiring ?? []),
        { tokenId: name, name, revokeAt: rfc3339(new Date(watchUntil)) },
      ];
      return this.#o.kube.patchTokenStatus(
        sat,
        { pending: null, retiring },
        { resourceVersion: sat.metadata.resourceVersion! },
      );
    }
    return this.#o.kube.patchTokenStatus(sat, { pending: null }, { resourceVersion: sat.metadata.resourceVersion! });
  }

  /**
   * Looks up a token whose issue was interrupted and revokes it. 'absent' is not final: a mint request that was in
   * flight when the process died can still be executed by the API after this lookup, so callers keep watching the
   * name for IN_FLIGHT_WINDOW_MS.
   */
  async #revokeLeftover(
    sat: ServiceAccountToken,
    client: ProviderClient,
    providerKey: string,
    name: string,
  ): Promise<'revoked' | 'absent' | 'unknowable'> {
    if (!client.capabilities.revoke) return 'revoked'; // Exchange/ephemeral tokens expire on their own (short TTL).
    if (!client.capabilities.lookupByName) {
      // The API cannot find a token by the name we gave it (Rill service tokens are unnamed): revoking "by name"
      // would 404 and look like success. Say so instead, so a human (or revoke-orphans) can check.
      const message = `An issue of token ${name} was interrupted and this provider cannot look tokens up by name: if it was minted it is still live. List the service account's tokens upstream (kubectl tokensync revoke-orphans --dry-run) and revoke any that no Secret holds`;
      this.#o.events.record(sat, 'Warning', EventReason.RevokeFailed, message);
      this.#o.logger.warn({ namespace: sat.metadata.namespace, name: sat.metadata.name, tokenName: name }, message);
      return 'unknowable';
    }
    const found = await client.lookup({ name, ...svc(sat) });
    if (!found) return 'absent';
    await client.revoke({ id: found.id, name, ...svc(sat) });
    this.#o.metrics?.revocations.inc({ provider: providerKey, result: 'success' });
    this.#o.logger.info(
      { namespace: sat.metadata.namespace, name: sat.metadata.name, tokenName: name },
      'revoked a token left by an interrupted issue',
    );
    return 'revoked';
  }

  // -------------------------------------------------------------------------------------------------------------
  // Revocation of retired tokens (make before break: these were replaced in the Secret already)

  async #revokeDue(sat: ServiceAccountToken, resolve: () => Promise<Resolution>): Promise<ServiceAccountToken> {
    const retiring = sat.status?.retiring ?? [];
    const now = this.#now().getTime();
    const due = retiring.filter((t) => Date.parse(t.revokeAt) <= now);
    if (!due.length) return sat;
    const r = await resolve();
    if (!r.ok) throw new RequeueAfterError(`cannot revoke retired tokens: ${r.message}`, PROVIDER_RETRY_MS);
    const revoked = new Set<string>();
    let failure: unknown;
    for (const token of due) {
      try {
        await r.client.revoke({ id: token.tokenId, ...(token.name ? { name: token.name } : {}), ...svc(sat) });
        revoked.add(token.tokenId);
        this.#o.metrics?.revocations.inc({ provider: r.providerKey, result: 'success' });
        this.#o.events.record(
          sat,
          'Normal',
          EventReason.Revoked,
          `Revoked retired token ${token.name ?? token.tokenId}`,
        );
      } catch (error) {
        this.#o.metrics?.revocations.inc({ provider: r.providerKey, result: 'error' });
        failure = error;
        break;
      }
    }
    const remaining = retiring.filter((t) => !revoked.has(t.tokenId));
    if (revoked.size) sat = await this.#o.kube.patchTokenStatus(sat, { retiring: remaining.length ? remaining : null });
    if (failure) {
      const delay = await this.#recordFailure(sat, failure, EventReason.RevokeFailed);
      throw new RequeueAfterError(describe(failure), delay);
    }
    return sat;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Steady state

  async #syncSecretMetadata(sat: ServiceAccountToken, secret: ObservedSecret): Promise<void> {
    const labels = desiredLabels(sat);
    const annotations = desiredUserAnnotations(sat);
    const previousKeys = (secret.metadata.annotations?.[USER_KEYS_ANNOTATION] ?? '').split(',').filter(Boolean);
    const labelPatch: Record<string, string | null> = {};
    const annotationPatch: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(labels)) if (secret.metadata.labels?.[k] !== v) labelPatch[k] = v;
    for (const [k, v] of Object.entries(annotations))
      if (secret.metadata.annotations?.[k] !== v) annotationPatch[k] = v;
    for (const key of previousKeys) {
      const [kind, name] = [key.slice(0, 2), key.slice(2)];
      if (kind === 'l:' && !(name in labels) && secret.metadata.labels?.[name] !== undefined) labelPatch[name] = null;
      if (kind === 'a:' && !(name in annotations) && secret.metadata.annotations?.[name] !== undefined)
        annotationPatch[name] = null;
    }
    if (!Object.keys(labelPatch).length && !Object.keys(annotationPatch).length) return;
    await this.#o.kube.patchSecretMetadata(sat.metadata.namespace!, secret.metadata.name, {
      ...(Object.keys(labelPatch).length ? { labels: labelPatch } : {}),
      ...(Object.keys(annotationPatch).length ? { annotations: annotationPatch } : {}),
    });
  }

  /** Computes Ready from status; writes only when something changed; schedules the next wake-up. */
  async #settle(sat: ServiceAccountToken): Promise<ReconcileResult> {
    const status = sat.status ?? {};
    const now = this.#now();
    const passthrough = status.tokenId?.startsWith('passthrough:');
    const expired = isExpired(status, now);
    const conditions = readyConditions(
      sat,
      now,
      expired
        ? { ready: 'False', reason: Reason.Expired, message: `The token expired at ${status.expiresAt}` }
        : {
            ready: 'True',
            reason: passthrough ? Reason.Passthrough : Reason.Issued,
            message: readyMessage(status.secretName, status.tokenName, status.expiresAt, !!passthrough),
          },
    );
    const patch: StatusPatch = {};
    if (!sameConditions(conditions, status.conditions)) patch.conditions = conditions;
    if (status.observedGeneration !== sat.metadata.generation) patch.observedGeneration = sat.metadata.generation;
    if (status.failureCount) {
      Object.assign(patch, { failureCount: null, lastFailure: null, lastFailureTime: null, nextAttemptAt: null });
    }
    if (Object.keys(patch).length) sat = await this.#o.kube.patchTokenStatus(sat, patch);
    this.#observe(sat);

    const at = (time: string | undefined) => (time ? Date.parse(time) - now.getTime() : undefined);
    return {
      requeueAfterMs: earliest(
        at(sat.status?.renewalTime),
        at(sat.status?.expiresAt),
        ...(sat.status?.retiring ?? []).map((t) => at(t.revokeAt)),
      ),
    };
  }

  #observe(sat: ServiceAccountToken): void {
    const status = sat.status ?? {};
    const ready = getCondition(status.conditions, ConditionType.Ready);
    this.#o.metrics?.observeToken({
      namespace: sat.metadata.namespace!,
      name: sat.metadata.name,
      ready: ready?.status ?? 'Unknown',
      reason: ready?.reason ?? '',
      ...(status.expiresAt ? { expiresAt: new Date(status.expiresAt) } : {}),
      ...(status.renewalTime ? { renewalTime: new Date(status.renewalTime) } : {}),
    });
  }

  async #setNotReady(
    sat: ServiceAccountToken,
    reason: string,
    message: string,
    event: string,
    keepReadyIfLive = false,
  ): Promise<void> {
    const now = this.#now();
    const status = sat.status ?? {};
    const live = keepReadyIfLive && status.tokenId && !isExpired(status, now);
    let conditions = status.conditions;
    if (!live) {
      conditions = setCondition(
        conditions,
        { type: ConditionType.Ready, status: 'False', reason, message, observedGeneration: sat.metadata.generation },
        now,
      );
    }
    conditions = setCondition(
      conditions,
      { type: ConditionType.Issuing, status: 'False', reason, message, observedGeneration: sat.metadata.generation },
      now,
    );
    if (sameConditions(conditions, status.conditions) && status.observedGeneration === sat.metadata.generation) {
      this.#observe(sat);
      return; // Already says so: no write, no repeated Event.
    }
    const updated = await this.#o.kube.patchTokenStatus(sat, {
      conditions,
      observedGeneration: sat.metadata.generation,
    });
    this.#o.events.record(updated, 'Warning', event, message);
    this.#o.logger.warn({ namespace: sat.metadata.namespace, name: sat.metadata.name, reason }, message);
    this.#observe(updated);
  }

  /**
   * Records a failure in status (condition, message, count, next attempt) and as an Event, and returns how long to
   * wait. The next attempt lives in status, so neither an unrelated event nor a restart can cause a hot loop.
   */
  async #recordFailure(
    sat: ServiceAccountToken,
    error: unknown,
    event: string,
    extra: StatusPatch = {},
  ): Promise<number> {
    const now = this.#now();
    const message = describe(error);
    const status = sat.status ?? {};
    const failures = (status.failureCount ?? 0) + 1;
    const delayMs = retryDelay(error, failures, (this.#o.random ?? Math.random)());
    const reason = ProviderError.is(error) && !error.retryable ? Reason.UpstreamRejected : Reason.UpstreamError;
    // The previous token still serves consumers while a rotation fails: Ready stays True until it expires.
    const live = status.tokenId && !isExpired(status, now);
    let conditions = setCondition(
      status.conditions,
      { type: ConditionType.Issuing, status: 'False', reason, message, observedGeneration: sat.metadata.generation },
      now,
    );
    if (!live) {
      conditions = setCondition(
        conditions,
        { type: ConditionType.Ready, status: 'False', reason, message, observedGeneration: sat.metadata.generation },
        now,
      );
    }
    try {
      await this.#o.kube.patchTokenStatus(sat, {
        ...extra,
        conditions,
        lastFailure: message,
        lastFailureTime: rfc3339(now),
        failureCount: failures,
        nextAttemptAt: new Date(now.getTime() + delayMs).toISOString(),
      });
    } catch (patchError) {
      this.#o.logger.warn({ err: describe(patchError) }, 'could not record failure in status');
    }
    this.#o.events.record(sat, 'Warning', event, message);
    this.#o.logger.warn(
      { namespace: sat.metadata.namespace, name: sat.metadata.name, reason, failures, retryInMs: Math.round(delayMs) },
      message,
    );
    return delayMs;
  }

  async #restartTargets(sat: ServiceAccountToken, now: Date): Promise<void> {
    for (const target of sat.spec.restartTargets ?? []) {
      try {
        const result = await this.#o.kube.restartWorkload(
          sat.metadata.namespace!,
          target.kind,
          target.name,
          rfc3339(now),
        );
        this.#o.events.record(
          sat,
          result === 'restarted' ? 'Normal' : 'Warning',
          EventReason.RestartedWorkload,
          result === 'restarted'
            ? `Restarted ${target.kind} ${target.name} after rotation`
            : `${target.kind} ${target.name} not found; nothing restarted`,
        );
      } catch (error) {
        this.#o.events.record(
          sat,
          'Warning',
          EventReason.RestartedWorkload,
          `Could not restart ${target.kind} ${target.name}: ${describe(error)}`,
        );
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Deletion

  async #finalize(sat: ServiceAccountToken): Promise<ReconcileResult> {
    if (!sat.metadata.finalizers?.includes(FINALIZER)) return {};
    const status = sat.status ?? {};
    const namespace = sat.metadata.namespace!;
    if ((sat.spec.deletionPolicy ?? 'Revoke') === 'Revoke') {
      const tokens = [
        ...(status.tokenId ? [{ id: status.tokenId, name: status.tokenName, known: true }] : []),
        ...(status.retiring ?? []).map((t) => ({ id: t.tokenId, name: t.name, known: true })),
      ].filter((t) => !t.id.startsWith('passthrough:'));
      if (tokens.length || status.pending) {
        const r = await this.#o.providers.resolve(sat);
        if (!r.ok) {
          const message = `Cannot revoke upstream tokens: ${r.message}. Fix the provider, or release the resource without revoking: kubectl patch sat ${sat.metadata.name} -n ${namespace} --type merge -p '{"spec":{"deletionPolicy":"Retain"}}'`;
          await this.#setNotReady(sat, Reason.Revoking, message, EventReason.RevokeFailed);
          throw new RequeueAfterError(message, PROVIDER_RETRY_MS);
        }
        if (r.client.capabilities.revoke) {
          try {
            if (status.pending) {
              const name = status.pending.name ?? status.pending.tokenId;
              const outcome = await this.#revokeLeftover(sat, r.client, r.providerKey, name);
              const waitMs = Date.parse(status.pending.startedAt) + IN_FLIGHT_WINDOW_MS - this.#now().getTime();
              if (outcome === 'absent' && waitMs > 0) {
                throw new RequeueAfterError(
                  `waiting for a possibly in-flight issue of ${name} before releasing`,
                  waitMs,
                );
              }
            }
            for (const token of tokens) {
              await r.client.revoke({ id: token.id, ...(token.name ? { name: token.name } : {}), ...svc(sat) });
              this.#o.metrics?.revocations.inc({ provider: r.providerKey, result: 'success' });
            }
          } catch (error) {
            this.#o.metrics?.revocations.inc({ provider: r.providerKey, result: 'error' });
            const delay = await this.#recordFailure(sat, error, EventReason.RevokeFailed);
            throw new RequeueAfterError(describe(error), delay);
          }
          if (tokens.length) {
            this.#o.events.record(sat, 'Normal', EventReason.Revoked, `Revoked ${tokens.length} token(s) on deletion`);
          }
        }
      }
      const secret = await this.#o.kube.getSecret(namespace, secretNameOf(sat));
      if (secret?.metadata.ownerReferences?.some((ref) => ref.uid === sat.metadata.uid)) {
        await this.#o.kube.deleteSecret(namespace, secret.metadata.name, secret.metadata.uid!);
      }
    } else {
      // Retain: the tokens stay live, so the Secret holding them stays too (no longer garbage-collected with us).
      const secret = await this.#o.kube.getSecret(namespace, secretNameOf(sat));
      if (secret?.metadata.ownerReferences?.some((ref) => ref.uid === sat.metadata.uid)) {
        await this.#o.kube.patchSecretMetadata(namespace, secret.metadata.name, { ownerReferences: null });
      }
    }
    await this.#o.kube.setFinalizers(
      sat,
      (sat.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
    );
    this.#o.metrics?.forgetToken(namespace, sat.metadata.name);
    this.#o.logger.info(
      { namespace, name: sat.metadata.name, policy: sat.spec.deletionPolicy ?? 'Revoke' },
      'finalized',
    );
    return {};
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** Whether the current token's expiry has passed (a token without expiry never expires). */
function isExpired(status: { expiresAt?: string | undefined } | undefined, now: Date): boolean {
  return !!status?.expiresAt && Date.parse(status.expiresAt) <= now.getTime();
}

function svc(sat: ServiceAccountToken): { serviceAccount?: string } {
  return sat.spec.serviceAccount ? { serviceAccount: sat.spec.serviceAccount } : {};
}

/** The Ready=True message, from status fields only, so a re-computation after a restart is identical. */
function readyMessage(
  secretName: string | undefined,
  tokenName: string | undefined,
  expiresAt: string | undefined,
  passthrough: boolean,
): string {
  if (passthrough) {
    return `Secret ${secretName} holds the passthrough token; rotate and revoke it in the vendor's console`;
  }
  return `Secret ${secretName} holds token ${tokenName}${expiresAt ? `, valid until ${expiresAt}` : ', which does not expire'}`;
}

function readyConditions(
  sat: ServiceAccountToken,
  now: Date,
  ready: { ready: 'True' | 'False'; reason: string; message: string },
): ServiceAccountTokenStatus['conditions'] {
  let conditions = setCondition(
    sat.status?.conditions,
    {
      type: ConditionType.Ready,
      status: ready.ready,
      reason: ready.reason,
      message: ready.message,
      observedGeneration: sat.metadata.generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Issuing,
      status: 'False',
      reason: ready.reason,
      message: ready.ready === 'True' ? 'No issuing in progress' : ready.message,
      observedGeneration: sat.metadata.generation,
    },
    now,
  );
  return conditions;
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

/** A refusal a human must fix is retried slowly: 30 s doubling per consecutive failure, at most hourly. */
const PERMANENT_BASE_MS = 30_000;
const PERMANENT_MAX_MS = 3_600_000;
/** Transient failures: 1 s doubling, at most 5 min. */
const TRANSIENT_BASE_MS = 1_000;
const TRANSIENT_MAX_MS = 300_000;

/**
 * Backoff after the n-th consecutive failure, with ±20% jitter so resources failing together spread out. An
 * upstream Retry-After is a floor, never shortened by jitter.
 */
export function retryDelay(error: unknown, failures: number, random: number): number {
  const jitter = 0.8 + 0.4 * random;
  const exp = 2 ** Math.max(0, failures - 1);
  if (ProviderError.is(error) && !error.retryable) return Math.min(PERMANENT_BASE_MS * exp, PERMANENT_MAX_MS) * jitter;
  const backoff = Math.min(TRANSIENT_BASE_MS * exp, TRANSIENT_MAX_MS) * jitter;
  if (ProviderError.is(error) && error.code === 'RateLimited') return Math.max(backoff, error.retryAfterMs ?? 1000);
  return backoff;
}
