import {
  API_VERSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_LABEL,
  type ServiceAccountToken,
} from '../../api/v1alpha1/index.ts';
import type { SecretManifest } from '../../kube/secrets.ts';
import type { IssuedToken } from '../../providers/types.ts';
import { secretNameOf, upstreamAccountOf } from '../naming.ts';
import { DEFAULT_TEMPLATE, renderTemplate } from '../template.ts';

/** Annotations on the Secret that let a restarted controller finish an interrupted issue (never values). */
export const TOKEN_ID_ANNOTATION = 'tokensync.io/token-id';
export const TOKEN_NAME_ANNOTATION = 'tokensync.io/token-name';
export const REVISION_ANNOTATION = 'tokensync.io/revision';
export const ISSUED_AT_ANNOTATION = 'tokensync.io/issued-at';
export const EXPIRES_AT_ANNOTATION = 'tokensync.io/expires-at';
/** Keys of spec.secret.labels/annotations last applied, so removing one from the spec removes it from the Secret. */
export const USER_KEYS_ANNOTATION = 'tokensync.io/user-metadata-keys';

export function desiredLabels(sat: ServiceAccountToken): Record<string, string> {
  return { ...(sat.spec.secret?.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_LABEL]: sat.metadata.name };
}

export function userKeys(sat: ServiceAccountToken): string {
  const labels = Object.keys(sat.spec.secret?.labels ?? {}).map((k) => `l:${k}`);
  const annotations = Object.keys(sat.spec.secret?.annotations ?? {}).map((k) => `a:${k}`);
  return [...labels, ...annotations].sort().join(',');
}

export function desiredUserAnnotations(sat: ServiceAccountToken): Record<string, string> {
  return { ...(sat.spec.secret?.annotations ?? {}), [USER_KEYS_ANNOTATION]: userKeys(sat) };
}

/** The whole Secret for a freshly issued token. Template rendering errors were caught earlier as InvalidSpec. */
export function buildSecret(
  sat: ServiceAccountToken,
  issued: IssuedToken,
  revision: number,
  issuedAt: Date,
): SecretManifest {
  const values = {
    token: issued.value.reveal(),
    tokenId: issued.id,
    expiresAt: issued.expiresAt?.toISOString() ?? '',
    serviceAccount: upstreamAccountOf(sat) ?? '',
    scopes: JSON.stringify(sat.spec.scopes ?? []),
    ...(issued.templateData ?? {}),
  };
  const rendered = renderTemplate(sat.spec.secret?.template ?? DEFAULT_TEMPLATE, values);
  const data = Object.fromEntries(
    Object.entries(rendered).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretNameOf(sat),
      namespace: sat.metadata.namespace!,
      labels: desiredLabels(sat),
      annotations: {
        ...desiredUserAnnotations(sat),
        [TOKEN_ID_ANNOTATION]: issued.id,
        [TOKEN_NAME_ANNOTATION]: issued.name,
        [REVISION_ANNOTATION]: String(revision),
        [ISSUED_AT_ANNOTATION]: issuedAt.toISOString(),
        ...(issued.expiresAt ? { [EXPIRES_AT_ANNOTATION]: issued.expiresAt.toISOString() } : {}),
      },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'ServiceAccountToken',
          name: sat.metadata.name,
          uid: sat.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    type: sat.spec.secret?.type ?? 'Opaque',
    data,
  };
}
