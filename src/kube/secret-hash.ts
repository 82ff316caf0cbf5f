import { createHmac } from 'node:crypto';

/**
 * A keyed hash of a Secret's data: enough to notice an out-of-band edit, never enough to recover a token.
 * The key is the owning ServiceAccountToken's uid, so the hash is stable across controller restarts (no churn)
 * and differs between resources. The informer stores this instead of the data, so no token value is cached.
 */
export function secretDataHash(data: Record<string, string> | undefined, key: string): string {
  const mac = createHmac('sha256', key);
  for (const name of Object.keys(data ?? {}).sort()) {
    mac.update(name);
    mac.update('\u0000');
    mac.update(data![name]!);
    mac.update('\u0001');
  }
  return `hmac-sha256:${mac.digest('base64url')}`;
}
