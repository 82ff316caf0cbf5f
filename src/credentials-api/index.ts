import { randomBytes, randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { KeyRing } from './auth.ts';
import { FaultInjector } from './faults.ts';
import { type Logger, silentLogger } from './logger.ts';
import { createRandom } from './random.ts';
import { RateLimiter } from './rate-limit.ts';
import { createCredentialsApiServer } from './server.ts';
import { Stats } from './stats.ts';
import { Store } from './store.ts';

export type { ApiKeyConfig } from './auth.ts';
export type { Logger } from './logger.ts';

export interface CredentialsApiOptions {
  /** Default 127.0.0.1: the reference server is for tests and demos, never exposed by accident. */
  host?: string;
  /** Default 0 (an ephemeral port; read it from `url`). */
  port?: number;
  /** Has every group. Generated when absent. */
  adminKey?: string;
  /** Extra management keys, each only in its groups (IOMETE's same-group rule). */
  keys?: { key: string; groups: string[] }[];
  /** Persist state here (atomic writes). In memory only when absent. */
  dataFile?: string;
  /** Per management key. Default 50 rps, burst 100; false (or 0 rps) disables. */
  rateLimit?: { requestsPerSecond: number; burst: number } | false;
  /** POST tokens to an unknown service account creates it. Default true. */
  autoCreateServiceAccounts?: boolean;
  logger?: Logger | undefined;
  /** Clock for createdAt, expiry and rate limiting; tests move time without sleeping. Default Date.now. */
  now?: () => number;
  /** Seed for the fault-injection PRNG (also settable at run time through PUT /_faults). Default random. */
  faultSeed?: number;
  /**
   * Longest lifetime granted to a token, in seconds, whatever the client asks (as Customer.io's JWTs live about an
   * hour). Also settable at run time through PUT /_faults. Default: no cap.
   */
  maxTokenLifetimeSeconds?: number;
}

export interface RunningCredentialsApi {
  /** e.g. http://127.0.0.1:41235 (no trailing slash). */
  url: string;
  adminKey: string;
  close(): Promise<void>;
}

export const DEFAULT_RATE_LIMIT = { requestsPerSecond: 50, burst: 100 } as const;

const optionsSchema = z.object({
  host: z.string().min(1).optional(),
  port: z.int().min(0).max(65_535).optional(),
  adminKey: z.string().min(8, 'adminKey must be at least 8 characters').optional(),
  keys: z.array(z.object({ key: z.string().min(8), groups: z.array(z.string().min(1)) })).optional(),
  dataFile: z.string().min(1).optional(),
  rateLimit: z
    .union([z.literal(false), z.object({ requestsPerSecond: z.number().min(0), burst: z.number().min(1) })])
    .optional(),
  autoCreateServiceAccounts: z.boolean().optional(),
  faultSeed: z.int().optional(),
  maxTokenLifetimeSeconds: z.int().min(1).optional(),
});

export function generateAdminKey(): string {
  return `rsa_admin_${randomBytes(24).toString('base64url')}`;
}

/** Starts the reference credentials API; see docs/credentials-api.md for the wire contract. */
export async function startCredentialsApi(options: CredentialsApiOptions = {}): Promise<RunningCredentialsApi> {
  const checked = optionsSchema.safeParse(options);
  if (!checked.success) {
    // Paths only: an option value may be a key.
    const paths = checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`startCredentialsApi: invalid options: ${paths}`);
  }
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const adminKey = options.adminKey ?? generateAdminKey();
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  const stats = new Stats();
  const faults = new FaultInjector(createRandom(options.faultSeed ?? randomInt(2 ** 31)), {
    maxTokenLifetimeSeconds: options.maxTokenLifetimeSeconds,
  });
  const store = await Store.open({ dataFile: options.dataFile, logger });

  const { server, shutdown } = createCredentialsApiServer({
    store,
    stats,
    faults,
    now,
    logger,
    autoCreateServiceAccounts: options.autoCreateServiceAccounts ?? true,
    keyRing: new KeyRing(adminKey, options.keys),
    rateLimiter: rateLimit && rateLimit.requestsPerSecond > 0 ? new RateLimiter(rateLimit, now) : undefined,
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  logger.debug({ url, dataFile: options.dataFile ?? null }, 'credentials-api: started');

  let closing: Promise<void> | undefined;
  return {
    url,
    adminKey,
    close() {
      closing ??= (async () => {
        shutdown();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive and held (timeout-fault) connections would otherwise keep close() waiting.
        server.closeAllConnections();
        await closed;
        await store.flush();
      })();
      return closing;
    },
  };
}
