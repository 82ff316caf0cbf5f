import type { IncomingHttpHeaders } from 'node:http';
import { hashSecret } from './token-value.ts';

export interface ApiKeyConfig {
  key: string;
  groups: string[];
}

/** Who is calling a management route. Carries no key material: `id` is a short digest prefix, safe to log. */
export interface Principal {
  id: string;
  allGroups: boolean;
  groups: ReadonlySet<string>;
}

/**
 * The management keys. Keys are looked up by their SHA-256 digest, so a comparison never runs over the raw key
 * byte by byte (no timing oracle) and the key ring holds no plain key after construction.
 */
export class KeyRing {
  readonly #byHash = new Map<string, Principal>();

  constructor(adminKey: string, keys: readonly ApiKeyConfig[] = []) {
    this.#add(adminKey, { allGroups: true, groups: new Set() });
    for (const { key, groups } of keys) this.#add(key, { allGroups: false, groups: new Set(groups) });
  }

  /** `X-API-Token` wins when both headers are sent; IOMETE clients use it, generic clients use Bearer. */
  authenticate(headers: IncomingHttpHeaders): Principal | undefined {
    const presented = presentedKey(headers);
    return presented === undefined ? undefined : this.#byHash.get(hashSecret(presented));
  }

  #add(key: string, principal: Omit<Principal, 'id'>): void {
    const hash = hashSecret(key);
    // The admin key keeps all groups even if it is listed again in `keys`.
    if (!this.#byHash.has(hash)) this.#byHash.set(hash, { id: `key:${hash.slice(0, 12)}`, ...principal });
  }
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const apiToken = headers['x-api-token'];
  if (typeof apiToken === 'string' && apiToken.length > 0) return apiToken;
  return bearer(headers);
}

/** The credential of an `Authorization: Bearer <x>` header, or undefined. */
export function bearer(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/**
 * IOMETE's same-group rule: a service account with groups can only be managed by a caller sharing at least one of
 * them; one without groups by anyone authenticated. The admin key is in every group.
 */
export function canManage(principal: Principal, account: { groups: readonly string[] }): boolean {
  if (principal.allGroups || account.groups.length === 0) return true;
  return account.groups.some((group) => principal.groups.has(group));
}
