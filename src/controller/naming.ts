import type { ServiceAccountToken } from '../api/v1alpha1/index.ts';

/**
 * Upstream token names are deterministic: prefix, first 8 chars of the resource uid, revision. A crash between
 * the mint call and the Secret write leaves a token whose name tokensync can recompute from status.pending, find
 * and revoke; two resources never collide; a recreated resource (new uid) never reuses an old name.
 */
export function upstreamTokenName(sat: ServiceAccountToken, revision: number): string {
  const prefix = sat.spec.tokenName ?? sat.metadata.name;
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
