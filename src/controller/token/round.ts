import type { ServiceAccountToken, ServiceAccountTokenStatus } from '../../api/v1alpha1/index.ts';
import { failpoint } from '../../failpoints.ts';
import type { ObservedSecret } from '../../kube/secrets.ts';
import type { TokenStatusPatch } from '../../kube/tokens.ts';
import type { Resolution } from '../provider-resolver.ts';
import type { TokenDeps } from './deps.ts';
import type { Violation } from './policies/checks.ts';

/** Something that stops issuing and, when `blocksReady`, makes the resource not Ready. */
export interface Problem {
  reason: string;
  message: string;
  /** Whether the resource is not Ready because of it even while a live token is in the Secret. */
  blocksReady: boolean;
  /** Warning Event reason, recorded when the problem first appears. */
  event: string;
}

interface QueuedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * One reconcile of one ServiceAccountToken. Steps read the resource through `sat` and `status`, and stage status
 * changes with `set`; readiness.ts folds the conditions in and `flush` writes everything in one status patch at the
 * end (or earlier, when a step must persist before calling upstream). Events wait for the write, so an Event never
 * announces a state that was not recorded.
 */
export class Round {
  readonly deps: TokenDeps;
  readonly now: Date;
  /** The latest version of the resource this round knows (after its own writes). */
  sat: ServiceAccountToken;
  /** Why a (re)mint is wanted, when it is. */
  violation: Violation | undefined;
  /** What blocks issuing or readiness, when something does. */
  problem: Problem | undefined;
  /** The Secret as last observed: from the cache, or from a live read when `secretLive`. */
  secret: ObservedSecret | undefined;
  secretLive = false;
  #patch: TokenStatusPatch = {};
  #events: QueuedEvent[] = [];
  #resolution: Promise<Resolution> | undefined;

  constructor(deps: TokenDeps, sat: ServiceAccountToken) {
    this.deps = deps;
    this.sat = sat;
    this.now = new Date(deps.clock.now());
  }

  get namespace(): string {
    return this.sat.metadata.namespace!;
  }

  get name(): string {
    return this.sat.metadata.name;
  }

  /** Status as it will be once the staged changes are written (null removes a field). */
  get status(): ServiceAccountTokenStatus {
    const merged: Record<string, unknown> = { ...(this.sat.status ?? {}) };
    for (const [k, v] of Object.entries(this.#patch)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    return merged as ServiceAccountTokenStatus;
  }

  /** The resource with this round's staged status changes applied: what the decisions look at. */
  view(): ServiceAccountToken {
    return { ...this.sat, status: this.status };
  }

  /** Stages status changes for the next write. */
  set(patch: TokenStatusPatch): void {
    Object.assign(this.#patch, patch);
  }

  get dirty(): boolean {
    return Object.keys(this.#patch).some(
      (k) =>
        !sameValue(this.#patch[k as keyof TokenStatusPatch], this.sat.status?.[k as keyof ServiceAccountTokenStatus]),
    );
  }

  /** Writes the staged status changes (if any differ from what is stored), then records the queued Events. */
  async flush(options: { resourceVersion?: string } = {}): Promise<void> {
    const changed = Object.fromEntries(
      Object.entries(this.#patch).filter(
        ([k, v]) => !sameValue(v, this.sat.status?.[k as keyof ServiceAccountTokenStatus]),
      ),
    );
    this.#patch = {};
    if (Object.keys(changed).length) {
      this.sat = await this.deps.tokens.patchStatus(this.sat, changed, options);
      failpoint('after-status');
    }
    this.emitEvents();
  }

  /** Queues an Event, recorded after the next status write. */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#events.push({ type, reason, message });
  }

  emitEvents(): void {
    for (const e of this.#events.splice(0)) this.deps.events.record(this.sat, e.type, e.reason, e.message);
  }

  /** The provider, client and credential; resolved once per round. */
  resolve(): Promise<Resolution> {
    this.#resolution ??= this.deps.providers.resolve(this.sat);
    return this.#resolution;
  }

  log(): { namespace: string; name: string } {
    return { namespace: this.namespace, name: this.name };
  }
}

/** Deep equality of JSON values (status fields), independent of key order. null equals absent. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameValue(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!sameValue(ao[k], bo[k])) return false;
  return true;
}
