import { createHash, randomBytes } from 'node:crypto';

/** Prefix of every minted value: recognisable in a secret scanner, like real vendors' token formats. */
export const TOKEN_PREFIX = 'rsa_live_';

/** 32 random bytes: a value is unguessable, so a fast hash (not a password KDF) is enough to store it. */
export function generateTokenValue(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * The server keeps only this digest, as real vendors do: neither memory dumps nor the data file can give a value
 * back, and introspection finds a token by hashing what the caller presents.
 */
export function hashSecret(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
