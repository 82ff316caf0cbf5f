// Typed access to ServiceAccountTokens, shared by the controller and the kubectl plugin.
import type { ServiceAccountToken, ServiceAccountTokenStatus } from '../api/v1alpha1/index.ts';
import { trimMetadata } from './cache-trim.ts';
import { isNotFound, type KubeConfig, kubeRequest, listAll } from './client.ts';
import { FIELD_MANAGER, MERGE_PATCH, paths } from './paths.ts';

/** A status merge patch: a field set to null is removed. */
export type TokenStatusPatch = Partial<Record<keyof ServiceAccountTokenStatus, unknown>>;

export interface TokenMetadataPatch {
  /** The whole list (merge patch replaces lists); null removes it. */
  finalizers?: string[] | null;
  /** Per key; null removes the key. */
  annotations?: Record<string, string | null>;
}

/** Conditional writes take the version the caller decided on: a concurrent change fails with 409 instead. */
export interface WriteOptions {
  resourceVersion?: string;
}

/** The writes the token controller makes to its own resources. */
export interface TokenWriter {
  patchStatus(sat: ServiceAccountToken, status: TokenStatusPatch, options?: WriteOptions): Promise<ServiceAccountToken>;
  patchMetadata(
    sat: ServiceAccountToken,
    metadata: TokenMetadataPatch,
    options?: WriteOptions,
  ): Promise<ServiceAccountToken>;
}

export interface TokenApiOptions {
  /** Told about every write (old and new resourceVersion), so the controller can skip cache versions it superseded. */
  onWrite?: (key: string, before: string | undefined, after: string | undefined) => void;
  /** Per request (shell completion gives up quickly rather than hang the prompt). Default: kubeRequest's 30 s. */
  timeoutMs?: number;
}

export class TokenApi implements TokenWriter {
  readonly #kc: KubeConfig;
  readonly #onWrite: TokenApiOptions['onWrite'];
  readonly #timeout: { timeoutMs?: number };

  constructor(kc: KubeConfig, options: TokenApiOptions = {}) {
    this.#kc = kc;
    this.#onWrite = options.onWrite;
    this.#timeout = options.timeoutMs ? { timeoutMs: options.timeoutMs } : {};
  }

  async get(namespace: string, name: string): Promise<ServiceAccountToken | undefined> {
    try {
      return trimMetadata(
        await kubeRequest<ServiceAccountToken>(this.#kc, {
          method: 'GET',
          path: paths.token(namespace, name),
          ...this.#timeout,
        }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every token of a namespace (undefined: all namespaces), paged. */
  list(
    namespace: string | undefined,
    options: { labelSelector?: string | undefined } = {},
  ): Promise<ServiceAccountToken[]> {
    return listAll<ServiceAccountToken>(this.#kc, paths.tokens(namespace), { ...options, ...this.#timeout });
  }

  /** Sets annotations (e.g. the renew request), unconditionally: what a user's `kubectl annotate` does. */
  annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<ServiceAccountToken> {
    return this.#patch({ metadata: { name, namespace } } as ServiceAccountToken, '', { metadata: { annotations } });
  }

  async patchStatus(
    sat: ServiceAccountToken,
    status: TokenStatusPatch,
    options: WriteOptions = {},
  ): Promise<ServiceAccountToken> {
    return this.#patch(sat, '/status', {
      status,
      ...(options.resourceVersion ? { metadata: { resourceVersion: options.resourceVersion } } : {}),
    });
  }

  async patchMetadata(
    sat: ServiceAccountToken,
    metadata: TokenMetadataPatch,
    options: WriteOptions = {},
  ): Promise<ServiceAccountToken> {
    return this.#patch(sat, '', {
      metadata: { ...metadata, ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}) },
    });
  }

  async #patch(sat: ServiceAccountToken, subresource: string, body: unknown): Promise<ServiceAccountToken> {
    const namespace = sat.metadata.namespace!;
    const updated = await kubeRequest<ServiceAccountToken>(this.#kc, {
      method: 'PATCH',
      path: `${paths.token(namespace, sat.metadata.name)}${subresource}`,
      query: { fieldManager: FIELD_MANAGER },
      body,
      contentType: MERGE_PATCH,
      ...this.#timeout,
    });
    this.#onWrite?.(
      `${namespace}/${sat.metadata.name}`,
      sat.metadata.resourceVersion,
      updated.metadata.resourceVersion,
    );
    return trimMetadata(updated);
  }
}
