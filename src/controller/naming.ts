import type { ServiceAccountToken } from '../api/v1alpha1/index.ts';

/**
 * Upstream token names are deterministic: prefix, first 8 chars of the resource uid, revision. A crash between
 * the mint call and the Secret write leaves a token whose name tokensync can recompute from status.pending, find
 * and revoke; two resources never collide; a recreated resource (new uid) never reuses an old name.
 */
export function upstreamTokenName(sat: ServiceAccountToken, revision: number): string {
  const prefix = tokenNamePrefixOf(sat);
  const uid = (sat.metadata.uid ?? '').replace(/-/g, '').slice(0, 8);
  return `${prefix.slice(0, 40)}-${uid}-r${revision}`;
}

/** The Secret a resource writes. */
export function secretNameOf(sat: ServiceAccountToken): string {
  return sat.spec.secret?.name ?? sat.metadata.name;
}

export function keyOfResource(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The vendor account a token is minted for: spec.upstreamServiceAccount, or its former name spec.serviceAccount. */
export function upstreamAccountOf(sat: Pick<ServiceAccountToken, 'spec'>): string | undefined {
  return sat.spec.upstreamServiceAccount ?? sat.spec.serviceAccount;
}

/** The prefix of upstream token names: spec.tokenNamePrefix, its former name spec.tokenName, else metadata.name. */
export function tokenNamePrefixOf(sat: Pick<ServiceAccountToken, 'spec' | 'metadata'>): string {
  return sat.spec.tokenNamePrefix ?? sat.spec.tokenName ?? sat.metadata.name;
}

/** `{ serviceAccount }` for a provider call, when the token names an account. */
export function accountRef(sat: Pick<ServiceAccountToken, 'spec'>): { serviceAccount?: string } {
  const account = upstreamAccountOf(sat);
  return account ? { serviceAccount: account } : {};
}
