import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type ObjectMeta } from '../api/v1alpha1/index.ts';
import { secretDataHash } from '../kube/secret-hash.ts';

/** What tokensync keeps of a Secret: metadata and a keyed hash of the data, never the data itself. */
export interface ObservedSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type?: string;
  dataHash: string;
  dataKeys: string[];
}

interface RawSecret {
  metadata: ObjectMeta & { managedFields?: unknown };
  type?: string;
  data?: Record<string, string>;
}

/** Informer transform for Secrets; the hash key is the controlling owner's uid (stable across restarts). */
export function observeSecret(raw: RawSecret): ObservedSecret {
  const { managedFields: _dropped, ...metadata } = raw.metadata;
  const owner = metadata.ownerReferences?.find((ref) => ref.controller) ?? metadata.ownerReferences?.[0];
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    ...(raw.type ? { type: raw.type } : {}),
    dataHash: secretDataHash(raw.data, owner?.uid ?? ''),
    dataKeys: Object.keys(raw.data ?? {}).sort(),
  };
}

/** A Secret is ours when it carries the managed-by label and its controller reference is this resource. */
export function isOwnedBy(secret: ObservedSecret, ownerUid: string | undefined): boolean {
  return (
    secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE &&
    !!ownerUid &&
    !!secret.metadata.ownerReferences?.some((ref) => ref.uid === ownerUid && ref.controller)
  );
}
