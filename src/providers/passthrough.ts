import { fingerprint } from './token-utils.ts';

/**
 * Token ids of passthrough providers (augment): the credential itself is the token, so its id is a non-reversible
 * fingerprint of it. The prefix marks such ids in stored statuses, which lets a deletion finish without resolving
 * a provider that has nothing to revoke.
 */
export const PASSTHROUGH_ID_PREFIX = 'passthrough:';

/** `passthrough:sha256:<16 hex>`, the format status.tokenId has always had for augment. */
export const passthroughTokenId = (credential: string): string => `${PASSTHROUGH_ID_PREFIX}${fingerprint(credential)}`;

/** For stored statuses only, when no client can be resolved; with a client, read client.passthrough instead. */
export const isPassthroughTokenId = (id: string | undefined): boolean => !!id?.startsWith(PASSTHROUGH_ID_PREFIX);
