import { rfc3339 } from '../conditions.ts';
import { inWindow } from '../renewal-windows.ts';
import { renewalTime, windowDeadline } from '../schedule.ts';
import type { Round } from './round.ts';

/**
 * Keeps status.renewalTime inside spec.renewal.windows when they change on a live token (the time is otherwise
 * computed at issue). A renewal time is consistent with the windows when it lies inside one, or when it was pushed
 * to the deadline because no window opens in time (schedule.ts); anything else is recomputed from now, once: the
 * result is consistent, so the next round writes nothing. Removing the windows takes effect at the next rotation.
 */
export function alignRenewalToWindows(round: Round): void {
  const windows = round.sat.spec.renewal?.windows;
  const status = round.status;
  if (!windows?.length || !status.renewalTime || !status.issuedAt) return;
  const at = Date.parse(status.renewalTime);
  const issuedAt = new Date(status.issuedAt);
  const expiresAt = status.expiresAt ? new Date(status.expiresAt) : undefined;
  // rfc3339 drops milliseconds: a time pushed to the deadline may read up to a second earlier than it.
  if (inWindow(windows, at) || at >= windowDeadline(issuedAt, expiresAt) - 1000) return;
  const next = renewalTime(round.sat.spec, issuedAt, expiresAt, round.deps.random(), round.now);
  if (next) round.set({ renewalTime: rfc3339(next) });
}
