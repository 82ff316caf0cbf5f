import type { SecretValue } from '../secret-value.ts';

/**
 * Augment has no token management API: an administrator creates a service-account API token in the UI and stores
 * it in the referenced Secret; tokensync passes it through and offers what session.json needs.
 */
export const AUGMENT_DEFAULT_SCOPES = ['read', 'write'] as const;

export interface SessionTemplateData extends Record<string, string> {
  tenantURL: string;
  /** JSON array, so a template can write it verbatim into session.json. */
  scopes: string;
}

export function sessionTemplateData(tenantURL: string, scopes: readonly string[]): SessionTemplateData {
  return { tenantURL, scopes: JSON.stringify(scopes.length > 0 ? scopes : AUGMENT_DEFAULT_SCOPES) };
}

/** The session.json Auggie CLI reads, for callers that do not use a template. */
export function renderSessionJson(value: SecretValue, tenantURL: string, scopes: readonly string[]): string {
  return JSON.stringify({
    accessToken: value.reveal(),
    tenantURL,
    scopes: scopes.length > 0 ? scopes : AUGMENT_DEFAULT_SCOPES,
  });
}
