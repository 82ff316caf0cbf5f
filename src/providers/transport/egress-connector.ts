import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { decideEgress, describeDenial, type EgressPolicy } from './egress-policy.ts';

/**
 * An undici connector that enforces the egress policy on the address it is about to connect to, not on the URL:
 * - a host name is resolved by a lookup that checks every address DNS returns and refuses the connection if any
 *   one of them is denied (so a name answering with a public and a private address cannot slip through, and a
 *   rebinding DNS server is checked again on every new connection, the only moment an address is used);
 * - a literal address (the URL's host, brackets removed) is checked before connecting, because net.connect does
 *   not call the lookup for one.
 * A refusal fails the connection attempt with EgressDeniedError: nothing is sent.
 */

/** dns.lookup with {all: true}: the shape net.connect's `lookup` option is called with under autoSelectFamily. */
export type LookupFunction = (
  hostname: string,
  options: { all: true; family?: number; hints?: number },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const BRAND = Symbol.for('tokensync.EgressDeniedError');

export class EgressDeniedError extends Error {
  override readonly name = 'EgressDeniedError';
  readonly code = 'ETOKENSYNC_EGRESS_DENIED';
  readonly [BRAND] = true;

  /** The refusal anywhere in an error's cause chain (undici and net may wrap connect errors). */
  static find(error: unknown, depth = 0): EgressDeniedError | undefined {
    if (typeof error !== 'object' || error === null || depth > 5) return undefined;
    if ((error as Record<symbol, unknown>)[BRAND] === true) return error as EgressDeniedError;
    const { cause, errors } = error as { cause?: unknown; errors?: unknown };
    const nested = [cause, ...(Array.isArray(errors) ? errors : [])];
    for (const inner of nested) {
      const found = EgressDeniedError.find(inner, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
}

const defaultLookup: LookupFunction = (hostname, options, callback) => dnsLookup(hostname, options, callback);

export interface EgressConnectorOptions {
  policy: EgressPolicy;
  /** Resolves host names; tests pass one that answers with loopback addresses. Default: dns.lookup. */
  lookup?: LookupFunction | undefined;
  /** undici connect options (TLS CA, timeout). */
  connect?: buildConnector.BuildOptions | undefined;
}

export function egressConnector(options: EgressConnectorOptions): buildConnector.connector {
  const { policy } = options;
  const resolve = options.lookup ?? defaultLookup;

  const guardedLookup = (
    hostname: string,
    lookupOptions: { all?: boolean; family?: number; hints?: number },
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, lookupOptions.all ? [] : '');
      if (addresses.length === 0) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        return callback(notFound, lookupOptions.all ? [] : '');
      }
      for (const { address } of addresses) {
        const target = { address, host: hostname };
        const decision = decideEgress(target, policy);
        if (!decision.allowed) {
          return callback(new EgressDeniedError(describeDenial(target, decision, policy)), lookupOptions.all ? [] : '');
        }
      }
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };

  const connect = buildConnector({ ...options.connect, lookup: guardedLookup } as buildConnector.BuildOptions);
  return (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0) {
      const target = { address: host };
      const decision = decideEgress(target, policy);
      if (!decision.allowed) {
        const error = new EgressDeniedError(describeDenial(target, decision, policy));
        // Asynchronously, as a real connection failure would be.
        queueMicrotask(() => callback(error, null));
        return;
      }
    }
    return connect(connectOptions, callback);
  };
}
