import { createHash } from 'node:crypto';
import type { ServiceAccountToken } from '../api/v1alpha1/index.ts';
import { upstreamAccountOf } from './naming.ts';

/**
 * Hash of the spec fields that shape the token itself. A change means the live token no longer matches what was
 * asked for, so it is rotated. Fields that only shape the Secret (labels, annotations) or the schedule
 * (renewBefore, rotation) are left out on purpose: changing them must not mint.
 */
export function tokenSpecHash(sat: ServiceAccountToken): string {
  const s = sat.spec;
  const shaping = {
    provider: [s.providerRef.kind ?? 'CredentialsProvider', s.providerRef.name],
    // The former and the new field names hash the same: renaming the field must not rotate the token.
    serviceAccount: upstreamAccountOf(sat) ?? null,
    tokenName: s.tokenNamePrefix ?? s.tokenName ?? null,
    readOnly: s.readOnly ?? false,
    scopes: [...(s.scopes ?? [])].sort(),
    attributes: Object.fromEntries(Object.entries(s.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b))),
    lifetime: s.lifetime ?? null,
    template: s.secret?.template ?? null,
    type: s.secret?.type ?? 'Opaque',
  };
  return `sha256:${createHash('sha256').update(JSON.stringify(shaping)).digest('base64url').slice(0, 32)}`;
}
