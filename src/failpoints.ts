/**
 * Failpoints, as etcd's gofail has them: named places in the controller's steps where a test can make the process
 * crash or fail deterministically, to prove that every instant between two writes is recoverable. Off unless the
 * environment variable TOKENSYNC_FAILPOINTS names points; then `failpoint()` is a no-op function for every other
 * name, and without the variable it is a no-op for all (the check happens once, at import).
 *
 *   TOKENSYNC_FAILPOINTS="after-journal=crash"            SIGKILL this process the first time the point is reached
 *   TOKENSYNC_FAILPOINTS="after-mint=error,after-secret=2*crash"
 *
 * Actions: `crash` (the process kills itself with SIGKILL: no cleanup, no flush, like an OOM kill or a node dying),
 * `error` (throws FailpointError, as if the step's write or call had failed after taking effect). `N*action` fires
 * on the first N hits only; a bare action fires every time. docs/operations.md lists the points.
 */

/** Every failpoint, in the order a first issue reaches them. */
export const FAILPOINTS = {
  /** The in-use finalizers of the provider and its credential Secret were written (before the journal). */
  'after-protect': 'in-use finalizers written, before the journal',
  /** The journal annotation and the revoke finalizer were written; the mint has not been called. */
  'after-journal': 'journal and finalizer written, before the mint call',
  /** The credentials API answered a mint; nothing holds the value but this process. */
  'after-mint': 'mint answered, before the value check and the Secret write',
  /** The Secret holds the new token; status does not record it yet. */
  'after-secret': 'Secret written, before the status write',
  /** A status write succeeded (the end of a round, or a recovery's record). */
  'after-status': 'status written',
  /** An Event was written (events are fire-and-forget: the round has moved on). */
  'after-event': 'Event written',
  /** The credentials API answered a revocation (retired, unused, leftover or deleted token). */
  'after-revoke': 'revocation answered, before status records it',
  /** The credentials API answered a lookup by name (recovery of an interrupted mint). */
  'after-lookup': 'lookup by name answered, before the leftover is revoked',
} as const;
export type FailpointName = keyof typeof FAILPOINTS;

export class FailpointError extends Error {
  override readonly name = 'FailpointError';
}

interface Armed {
  action: 'crash' | 'error';
  /** Hits left; Infinity when the action has no count. */
  remaining: number;
}

/** Parses TOKENSYNC_FAILPOINTS; throws on an unknown point or action, so a typo never silently tests nothing. */
export function parseFailpoints(spec: string): Map<FailpointName, Armed> {
  const armed = new Map<FailpointName, Armed>();
  for (const term of spec
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)) {
    const match = /^([a-z-]+)=(?:(\d+)\*)?(crash|error)$/.exec(term);
    if (!match) throw new Error(`TOKENSYNC_FAILPOINTS: "${term}" is not NAME=[N*]crash|error`);
    const name = match[1] as FailpointName;
    if (!(name in FAILPOINTS)) {
      throw new Error(
        `TOKENSYNC_FAILPOINTS: unknown failpoint "${name}" (known: ${Object.keys(FAILPOINTS).join(', ')})`,
      );
    }
    armed.set(name, {
      action: match[3] as Armed['action'],
      remaining: match[2] === undefined ? Number.POSITIVE_INFINITY : Number(match[2]),
    });
  }
  return armed;
}

function trigger(armed: Map<FailpointName, Armed>, name: FailpointName): void {
  const point = armed.get(name);
  if (!point || point.remaining <= 0) return;
  point.remaining -= 1;
  // Stderr to a pipe or file is written synchronously on Linux, so this line is out before the process dies.
  process.stderr.write(
    `${JSON.stringify({ level: 'warn', msg: 'failpoint', failpoint: name, action: point.action })}\n`,
  );
  if (point.action === 'error') throw new FailpointError(`failpoint ${name}`);
  process.kill(process.pid, 'SIGKILL');
  // The signal is delivered at once; never run another line of the step meanwhile.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

function load(): (name: FailpointName) => void {
  const spec = process.env['TOKENSYNC_FAILPOINTS'];
  if (!spec) return () => {};
  const armed = parseFailpoints(spec);
  return (name) => trigger(armed, name);
}

/** Reached at a named place of the controller's steps; does nothing unless TOKENSYNC_FAILPOINTS arms it. */
export const failpoint: (name: FailpointName) => void = load();
