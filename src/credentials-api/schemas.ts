import { z } from 'zod';
import { badRequest } from './errors.ts';
import { OPERATIONS } from './faults.ts';

/**
 * Request bodies, all strict: an unknown field is a 400, so a client typo (`expires_at`) fails loudly instead of
 * silently minting a token that never expires.
 */

/** Token names end up in Secret annotations and URLs: keep them to characters that need no escaping. */
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Service account ids appear in paths; `@` and `:` allow e-mail-like and prefixed ids. */
export const SERVICE_ACCOUNT_ID_PATTERN = /^[A-Za-z0-9._@:-]{1,128}$/;

const tokenName = z.string().regex(TOKEN_NAME_PATTERN, 'must be 1-128 characters from A-Z a-z 0-9 . _ -');
const maxRps = z.int().min(1).max(1_000_000);

export const createTokenSchema = z.strictObject({
  name: tokenName,
  // RFC 3339 with an explicit offset (Z or ±hh:mm): a zone-less time would be ambiguous.
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  readOnly: z.boolean().optional(),
  scopes: z.array(z.string().min(1).max(256)).max(100).optional(),
  maxRps: maxRps.nullable().optional(),
  description: z.string().max(1024).nullable().optional(),
});
export type CreateTokenBody = z.infer<typeof createTokenSchema>;

export const patchTokenSchema = z.strictObject({
  status: z.enum(['ACTIVE', 'SUSPENDED']).optional(),
  maxRps: maxRps.nullable().optional(),
});
export type PatchTokenBody = z.infer<typeof patchTokenSchema>;

export const createServiceAccountSchema = z.strictObject({
  id: z.string().regex(SERVICE_ACCOUNT_ID_PATTERN, 'must be 1-128 characters from A-Z a-z 0-9 . _ @ : -'),
  name: z.string().min(1).max(256).optional(),
  groups: z.array(z.string().min(1).max(128)).max(64).optional(),
});
export type CreateServiceAccountBody = z.infer<typeof createServiceAccountSchema>;

const rate = z.number().min(0).max(1);
export const faultsSchema = z.strictObject({
  latencyMs: z.number().min(0).max(60_000).optional(),
  errorRate: rate.optional(),
  timeoutRate: rate.optional(),
  rateLimitNext: z
    .strictObject({
      count: z.int().min(0).max(1_000_000),
      // 0 is allowed on purpose: a client test can exercise its 429 path without sleeping.
      retryAfterSeconds: z.int().min(0).max(3600).optional(),
    })
    .optional(),
  malformedRate: rate.optional(),
  /** Aim the faults above at these operations only (mint, list, lookup, update, revoke, accounts). */
  operations: z.array(z.enum(OPERATIONS)).min(1).optional(),
  /** Cap on granted token lifetimes in seconds; null lifts the cap; absent = the start-time value. */
  maxTokenLifetimeSeconds: z
    .int()
    .min(1)
    .max(10 * 365 * 86_400)
    .nullable()
    .optional(),
  /** Reseeds the fault PRNG so a sequence of probabilistic faults is reproducible. */
  seed: z.int().optional(),
});
export type FaultsBody = z.infer<typeof faultsSchema>;

/**
 * Parses with a schema and turns failures into a 400 whose message names the offending fields. zod 4 does not put
 * input values into issues (reportInput is off), so a token-like string in a bad field is never echoed.
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const details = result.error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
  throw badRequest('invalid_request', `Invalid request body: ${details}`);
}
