import { createHash } from 'node:crypto';

/**
 * Claims of a JWT, decoded WITHOUT verifying the signature: only used to read `exp`/`jti` of a token we were just
 * handed by the issuer over TLS. Never used for an authorization decision. undefined when not a JWT.
 */
export function decodeJwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `exp` claim of a JWT as a Date, when present and numeric. */
export function jwtExpiry(token: string): Date | undefined {
  const exp = decodeJwtClaims(token)?.['exp'];
  return typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000) : undefined;
}

/**
 * A stable, non-reversible id for a token that has no upstream id: "sha256:" + the first 16 hex digits (64 bits)
 * of its SHA-256. Enough to tell tokens apart in status and audit, useless to recover the value.
 */
export function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** An RFC 3339 string or epoch seconds → Date; undefined for absent, zero ("never") or unparseable values. */
export function parseExpiry(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return new Date(value * 1000);
  if (typeof value === 'string' && value.length > 0) {
    if (/^\d+(\.\d+)?$/.test(value)) return parseExpiry(Number(value));
    const ms = Date.parse(value);
    // Go zero time ("0001-01-01T00:00:00Z") and similar sentinels mean "no expiry".
    if (Number.isNaN(ms) || ms <= 0) return undefined;
    return new Date(ms);
  }
  return undefined;
}
