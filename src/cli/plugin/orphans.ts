// Pure orphan detection for `kubectl tokensync revoke-orphans`: which upstream tokens that tokensync minted are no
// longer held by any ServiceAccountToken. No I/O here, so every rule is unit-tested.
//
// tokensync names every upstream token `<prefix>-<uid8>-r<revision>` (src/controller/naming.ts): the prefix is
// spec.tokenName or metadata.name, uid8 the first 8 hex digits of the resource's uid. That name ties a token to one
// resource; the resource's status says which of its tokens are still wanted.
import type { ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import { tokenNamePrefixOf, upstreamAccountOf } from '../../controller/naming.ts';

export interface UpstreamToken {
  id: string;
  name: string;
  active: boolean;
  expiresAt?: Date;
}

export interface ParsedName {
  prefix: string;
  uid8: string;
  revision: number;
}

const NAME = /^(?<prefix>[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)-(?<uid8>[0-9a-f]{8})-r(?<revision>\d+)$/;

/** Parses tokensync's naming convention; undefined for any other name (never ours, never touched). */
export function parseTokenName(name: string): ParsedName | undefined {
  const m = NAME.exec(name);
  if (!m?.groups) return undefined;
  return { prefix: m.groups['prefix']!, uid8: m.groups['uid8']!, revision: Number(m.groups['revision']) };
}

export const uid8Of = (uid: string | undefined): string => (uid ?? '').replace(/-/g, '').slice(0, 8).toLowerCase();
export const prefixOf = (sat: ServiceAccountToken): string => tokenNamePrefixOf(sat).slice(0, 40);

export type Decision =
  /** Not named by tokensync's convention: someone else's token. */
  | 'not-ours'
  /** Already revoked or expired upstream: nothing to do. */
  | 'inactive'
  /** The token in the resource's Secret. */
  | 'current'
  /** Inside its grace period; the controller revokes it at revokeAt. */
  | 'retiring'
  /** Journalled mint in flight (or crash leftover the controller recovers by itself). */
  | 'pending'
  /** Revision above status.revision: minted a moment ago, status not written yet. */
  | 'in-flight'
  /** The resource is being deleted: its finalizer revokes this token. */
  | 'owner-deleting'
  /** Owner exists and holds another token: a leak. Revoked. */
  | 'superseded'
  /** No ServiceAccountToken with this uid exists (deleted with deletionPolicy Retain, or a leak). */
  | 'ownerless';

export interface Verdict {
  token: UpstreamToken;
  decision: Decision;
  revoke: boolean;
  /** namespace/name of the owning resource, when found. */
  owner?: string;
}

export interface ClassifyOptions {
  /**
   * Revoke tokens whose resource is gone. Off by default: a resource deleted with deletionPolicy Retain leaves its
   * tokens live on purpose, and a resource outside the listed scope would look gone too.
   */
  includeOwnerless?: boolean;
}

function heldBy(sat: ServiceAccountToken, token: UpstreamToken, parsed: ParsedName): Decision | undefined {
  const status = sat.status ?? {};
  const is = (id?: string, name?: string) =>
    (id !== undefined && (id === token.id || id === token.name)) || (name !== undefined && name === token.name);
  if (is(status.tokenId, status.tokenName)) return 'current';
  if ((status.retiring ?? []).some((r) => is(r.tokenId, r.name))) return 'retiring';
  if (status.pending && (status.pending.name === token.name || is(status.pending.tokenId, status.pending.name))) {
    return 'pending';
  }
  if (parsed.revision > (status.revision ?? 0)) return 'in-flight';
  return undefined;
}

/**
 * Decides, for each upstream token of one provider, whether it is an orphan. `resources` should be every
 * ServiceAccountToken the caller can see (all namespaces when possible), not only those of this provider: two
 * provider objects may point at the same upstream account.
 */
export function classifyTokens(
  tokens: UpstreamToken[],
  resources: ServiceAccountToken[],
  options: ClassifyOptions = {},
): Verdict[] {
  const byUid = new Map<string, ServiceAccountToken[]>();
  for (const sat of resources) {
    const key = uid8Of(sat.metadata.uid);
    if (!key) continue;
    byUid.set(key, [...(byUid.get(key) ?? []), sat]);
  }
  return tokens.map((token): Verdict => {
    const parsed = parseTokenName(token.name);
    if (!parsed) return { token, decision: 'not-ours', revoke: false };
    const owner = (byUid.get(parsed.uid8) ?? []).find((s) => prefixOf(s) === parsed.prefix);
    const ownerName = owner ? `${owner.metadata.namespace}/${owner.metadata.name}` : undefined;
    const withOwner = (v: Omit<Verdict, 'owner'>): Verdict => (ownerName ? { ...v, owner: ownerName } : v);
    if (!token.active) return withOwner({ token, decision: 'inactive', revoke: false });
    if (!owner) return { token, decision: 'ownerless', revoke: Boolean(options.includeOwnerless) };
    if (owner.metadata.deletionTimestamp) return withOwner({ token, decision: 'owner-deleting', revoke: false });
    const held = heldBy(owner, token, parsed);
    if (held) return withOwner({ token, decision: held, revoke: false });
    return withOwner({ token, decision: 'superseded', revoke: true });
  });
}

/** The upstream service accounts whose tokens to list for a provider: those its resources name. */
export function serviceAccountsOf(resources: ServiceAccountToken[]): string[] {
  return [...new Set(resources.map((r) => upstreamAccountOf(r)).filter((s): s is string => Boolean(s)))].sort();
}
