import type { LifetimeGrant } from './types.ts';

/** A grant within this much of the request counts as honoured (vendors round to seconds or minutes). */
const TOLERANCE_MS = 60_000;

/**
 * What the vendor made of a requested lifetime. `vendorTakesLifetime` false means the API has no TTL parameter
 * at all (Rill service tokens, Augment): whatever expiry comes back, the request was ignored. undefined when no
 * lifetime was requested (nothing to report).
 */
export function lifetimeGrant(options: {
  requestedSeconds: number | undefined;
  issuedAtMs: number;
  expiresAt: Date | undefined;
  vendorTakesLifetime: boolean;
}): LifetimeGrant | undefined {
  const { requestedSeconds, issuedAtMs, expiresAt } = options;
  if (requestedSeconds === undefined) return undefined;
  const grantedSeconds = expiresAt ? Math.max(0, Math.round((expiresAt.getTime() - issuedAtMs) / 1000)) : undefined;
  let outcome: LifetimeGrant['outcome'];
  if (!options.vendorTakesLifetime || grantedSeconds === undefined) outcome = 'ignored';
  else {
    const shortBy = requestedSeconds * 1000 - grantedSeconds * 1000;
    outcome = shortBy > Math.max(TOLERANCE_MS, requestedSeconds * 10) ? 'capped' : 'honoured';
  }
  return { requestedSeconds, grantedSeconds, outcome };
}

/** "168h", "15m", "90s": the Go-style duration a user writes in spec.lifetime. */
export function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * The sentence the token reconciler puts in its condition and Warning when a lifetime was not honoured;
 * undefined when it was. Never mentions token values.
 */
export function describeLifetime(provider: string, grant: LifetimeGrant | undefined): string | undefined {
  if (!grant || grant.outcome === 'honoured') return undefined;
  const asked = formatSeconds(grant.requestedSeconds);
  if (grant.outcome === 'ignored') {
    return grant.grantedSeconds === undefined
      ? `${provider} takes no lifetime: spec.lifetime ${asked} is ignored and the token never expires; set spec.rotation.every (e.g. ${asked}) to rotate it on a schedule`
      : `${provider} takes no lifetime: spec.lifetime ${asked} is ignored, the token expires after ${formatSeconds(grant.grantedSeconds)}`;
  }
  return `${provider} granted ${formatSeconds(grant.grantedSeconds ?? 0)} of the ${asked} asked in spec.lifetime: the token is renewed on the granted lifetime; lower spec.lifetime to ${formatSeconds(grant.grantedSeconds ?? 0)} or less to silence this`;
}
