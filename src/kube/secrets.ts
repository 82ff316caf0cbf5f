// Typed access to Secrets: the ones tokensync writes (token Secrets) and the ones it reads (provider credentials).
// No Secret data leaves this module except as a SecretValue (credentials) or a keyed hash (token Secrets), so a
// cache, a log line or a status can never hold a token value by accident.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { ObjectMeta } from '../api/v1alpha1/index.ts';
import { SecretValue } from '../providers/secret-value.ts';
import { trimMetadata } from './cache-trim.ts';
import { isConflict, isNotFound, type KubeConfig, kubeRequest } from './client.ts';
import { FIELD_MANAGER, MERGE_PATCH, paths } from './paths.ts';
import type { WriteOptions } from './tokens.ts';

/** What tokensync keeps of a Secret: metadata and, when the data was read, a keyed hash of it. Never the data. */
export interface ObservedSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type?: string;
  /** Keyed hash (see SecretHasher) of the data; absent when only metadata was read (the informer's cache). */
  dataHash?: string;
  /** Names of the data keys (not secret), when the data was read. */
  dataKeys?: string[];
  /** The same data hashed the way tokensync 0.1 did (keyed by the owner's uid), to recognise hashes it recorded. */
  legacyDataHash?: string;
}

/** A Secret as tokensync writes it. */
export interface SecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: true;
      blockOwnerDeletion: true;
    }>;
  };
  type: string;
  /** base64 values */
  data: Record<string, string>;
}

interface RawSecret {
  metadata: ObjectMeta & { managedFields?: unknown };
  type?: string;
  data?: Record<string, string>;
}

function hmac(key: string | Buffer, data: Record<string, string> | undefined): string {
  const mac = createHmac('sha256', key);
  for (const name of Object.keys(data ?? {}).sort()) {
    mac.update(name);
    mac.update('\u0000');
    mac.update(data![name]!);
    mac.update('\u0001');
  }
  return mac.digest('base64url');
}

/**
 * A keyed hash of a Secret's data: enough to notice an out-of-band edit, never enough to recover a token. The key is
 * held by the controller (a Secret in its own namespace, see loadHashKey), not derived from anything a reader of
 * the ServiceAccountToken can see, and its id is part of the hash so a key change is recognised as such.
 */
export class SecretHasher {
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 16) throw new Error('the Secret hash key must be at least 16 bytes');
    this.#key = key;
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  hash(data: Record<string, string> | undefined): string {
    return `hmac-sha256:${this.keyId}:${hmac(this.#key, data)}`;
  }

  /** tokensync 0.1 keyed the hash with the owner's uid; recognised so an upgrade does not re-mint every token. */
  static legacyHash(data: Record<string, string> | undefined, ownerUid: string): string {
    return `hmac-sha256:${hmac(ownerUid, data)}`;
  }
}

/** Trims a Secret from the API to what tokensync keeps; with a hasher, the data becomes its keyed hash. */
export function observeSecret(raw: RawSecret, hasher?: SecretHasher): ObservedSecret {
  const { metadata, type, data } = trimMetadata(raw);
  const owner = metadata.ownerReferences?.find((ref) => ref.controller) ?? metadata.ownerReferences?.[0];
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    ...(type ? { type } : {}),
    ...(hasher ? { dataHash: hasher.hash(data), dataKeys: Object.keys(data ?? {}).sort() } : {}),
    ...(hasher && owner ? { legacyDataHash: SecretHasher.legacyHash(data, owner.uid) } : {}),
  };
}

export interface SecretMetadataPatch {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
  ownerReferences?: null;
  /** The whole list; null removes it. Use with a resourceVersion so others' finalizers are never lost. */
  finalizers?: string[] | null;
}

/** A credential read from a Secret key, with the Secret's metadata (for opt-in labels and finalizers). */
export interface CredentialRead {
  value: SecretValue;
  metadata: ObjectMeta;
}

export class SecretApi {
  readonly #kc: KubeConfig;
  readonly #hasher: SecretHasher | undefined;

  /** Without a hasher (the kubectl plugin, which only reads credentials), observed Secrets carry no data hash. */
  constructor(kc: KubeConfig, hasher?: SecretHasher) {
    this.#kc = kc;
    this.#hasher = hasher;
  }

  /** Live read (never the cache), reduced to metadata and data hashes. */
  async get(namespace: string, name: string): Promise<ObservedSecret | undefined> {
    try {
      const raw = await kubeRequest<RawSecret>(this.#kc, { method: 'GET', path: paths.secret(namespace, name) });
      return observeSecret(raw, this.#hasher);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Creates the Secret; a Secret of that name that appeared meanwhile fails with 409 AlreadyExists and is never
   * adopted. With dryRun the API server runs validation and admission (quota, policies, webhooks) and stores nothing.
   */
  async create(manifest: SecretManifest, options: { dryRun?: boolean } = {}): Promise<ObservedSecret> {
    const created = await kubeRequest<RawSecret>(this.#kc, {
      method: 'POST',
      path: paths.secrets(manifest.metadata.namespace),
      query: { fieldManager: FIELD_MANAGER, ...(options.dryRun ? { dryRun: 'All' } : {}) },
      body: manifest,
    });
    return observeSecret(created, this.#hasher);
  }

  /**
   * Replaces the data of an existing Secret we own, with its metadata, conditional on the resourceVersion the caller
   * looked at: a concurrent edit fails with 409 instead of being overwritten blindly. Keys not in `manifest.data`
   * are removed.
   */
  async replace(
    manifest: SecretManifest,
    current: { keys: string[]; resourceVersion: string },
    options: { dryRun?: boolean } = {},
  ): Promise<ObservedSecret> {
    const removed = Object.fromEntries(current.keys.filter((k) => !(k in manifest.data)).map((k) => [k, null]));
    const updated = await kubeRequest<RawSecret>(this.#kc, {
      method: 'PATCH',
      path: paths.secret(manifest.metadata.namespace, manifest.metadata.name),
      query: { fieldManager: FIELD_MANAGER, ...(options.dryRun ? { dryRun: 'All' } : {}) },
      body: {
        metadata: { ...manifest.metadata, resourceVersion: current.resourceVersion },
        data: { ...removed, ...manifest.data },
      },
      contentType: MERGE_PATCH,
    });
    return observeSecret(updated, this.#hasher);
  }

  async patchMetadata(
    namespace: string,
    name: string,
    metadata: SecretMetadataPatch,
    options: WriteOptions = {},
  ): Promise<ObservedSecret> {
    const updated = await kubeRequest<RawSecret>(this.#kc, {
      method: 'PATCH',
      path: paths.secret(namespace, name),
      query: { fieldManager: FIELD_MANAGER },
      body: {
        metadata: { ...metadata, ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}) },
      },
      contentType: MERGE_PATCH,
    });
    return observeSecret(updated);
  }

  /** Deletes the Secret if it is still the one with this uid; already gone counts as done. */
  async delete(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await kubeRequest(this.#kc, {
        method: 'DELETE',
        path: paths.secret(namespace, name),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** One key of a Secret as a SecretValue (trimmed), with the Secret's metadata; undefined when either is missing. */
  async readKey(namespace: string, name: string, key: string): Promise<CredentialRead | undefined> {
    try {
      const raw = await kubeRequest<RawSecret>(this.#kc, { method: 'GET', path: paths.secret(namespace, name) });
      const encoded = raw.data?.[key];
      if (encoded === undefined) return undefined;
      return {
        value: new SecretValue(Buffer.from(encoded, 'base64').toString('utf8').trim()),
        metadata: trimMetadata(raw).metadata,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

/** Data key of the hash-key Secret. */
const HASH_KEY_FIELD = 'key';

/**
 * The controller's Secret-hash key, from a Secret in its own namespace, created on first start. Stable across
 * restarts and replicas (a new key would make every Secret look edited and re-mint every token).
 */
export async function loadHashKey(kc: KubeConfig, namespace: string, name: string): Promise<Buffer> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const secret = await kubeRequest<RawSecret>(kc, { method: 'GET', path: paths.secret(namespace, name) });
      const encoded = secret.data?.[HASH_KEY_FIELD];
      if (!encoded) throw new Error(`Secret ${namespace}/${name} has no "${HASH_KEY_FIELD}" key`);
      return Buffer.from(encoded, 'base64');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await kubeRequest(kc, {
        method: 'POST',
        path: paths.secrets(namespace),
        query: { fieldManager: FIELD_MANAGER },
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name,
            namespace,
            labels: { 'app.kubernetes.io/name': 'tokensync', 'app.kubernetes.io/component': 'hash-key' },
            annotations: {
              'tokensync.io/purpose':
                'Key of the hashes tokensync records of the Secrets it writes. Deleting it makes every Secret look edited, which re-mints every token.',
            },
          },
          type: 'Opaque',
          data: { [HASH_KEY_FIELD]: randomBytes(32).toString('base64') },
        },
      });
    } catch (error) {
      if (!isConflict(error)) throw error; // Another replica created it first: read theirs.
    }
  }
  throw new Error(`could not read or create the hash key Secret ${namespace}/${name}`);
}
