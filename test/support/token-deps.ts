// An in-memory TokenDeps for unit tests of the token controller's decisions: the controller's own ports backed by
// maps, a FakeProvider and a manual clock. It records every write so tests can count them. It models only what the
// steps rely on (resourceVersion preconditions, AlreadyExists, an injectable refusal), not the API server; the
// integration tests prove the same behaviour against a real one.

import { ApiException } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { AnyProvider, RestartTargetKind, ServiceAccountToken } from '../../src/api/v1alpha1/index.ts';
import { manualClock } from '../../src/clock.ts';
import type { Resolution } from '../../src/controller/provider-resolver.ts';
import type { TokenDeps } from '../../src/controller/token/deps.ts';
import { RestartBatcher } from '../../src/controller/workloads/restart-batcher.ts';
import {
  type ObservedSecret,
  SecretHasher,
  type SecretManifest,
  type SecretMetadataPatch,
} from '../../src/kube/secrets.ts';
import type { TokenMetadataPatch, TokenStatusPatch } from '../../src/kube/tokens.ts';
import type { RestartResult, Workload } from '../../src/kube/workloads.ts';
import { FakeProvider } from './fake-provider.ts';

export interface Write {
  kind: 'token-metadata' | 'token-status' | 'secret-create' | 'secret-replace' | 'secret-metadata' | 'secret-delete';
  dryRun?: boolean;
  body?: unknown;
}

const hasher = new SecretHasher(Buffer.alloc(32, 7));

function apiError(code: number, message: string): ApiException<unknown> {
  return new ApiException(code, message, { message }, {});
}

/**
 * Workloads in memory, for the restart and rollout-gate steps: a restart bumps the generation (as a pod-template or
 * spec.restartAt change does on the API server) and is counted; status is whatever the test sets, as a workload
 * controller would.
 */
export class MemoryWorkloads {
  readonly objects = new Map<string, Workload & { kind: RestartTargetKind }>();
  readonly restarts: Array<{ kind: RestartTargetKind; name: string; at: string }> = [];
  /** Return an error to make the next restarts (or lists) fail. */
  failRestart: ((kind: RestartTargetKind, name: string) => Error | undefined) | undefined;
  failList: Error | undefined;

  add(kind: RestartTargetKind, name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}) {
    this.objects.set(`${kind}/${name}`, { kind, metadata: { name, generation: 1, labels }, spec, status: {} });
  }

  setStatus(kind: RestartTargetKind, name: string, status: Record<string, unknown>): void {
    this.objects.get(`${kind}/${name}`)!.status = status;
  }

  readonly api = {
    restart: async (_ns: string, kind: RestartTargetKind, name: string, at: string): Promise<RestartResult> => {
      const refusal = this.failRestart?.(kind, name);
      if (refusal) throw refusal;
      const w = this.objects.get(`${kind}/${name}`);
      if (!w) return { result: 'not-found' };
      w.metadata.generation = (w.metadata.generation ?? 0) + 1;
      this.restarts.push({ kind, name, at });
      return { result: 'restarted', generation: w.metadata.generation };
    },
    get: async (_ns: string, kind: RestartTargetKind, name: string): Promise<Workload | undefined> =>
      structuredClone(this.objects.get(`${kind}/${name}`)),
    list: async (_ns: string, kind: RestartTargetKind, selector: string): Promise<string[]> => {
      if (this.failList) throw this.failList;
      // Only the `k=v,...` form the unit tests use; the API server's full grammar is proven in integration tests.
      const terms = selector.split(',').map((t) => t.split('='));
      return [...this.objects.values()]
        .filter((w) => w.kind === kind && terms.every(([k, v]) => w.metadata.labels?.[k!] === v))
        .map((w) => w.metadata.name)
        .sort();
    },
  };
}

export class MemoryKube {
  readonly writes: Write[] = [];
  readonly workloads = new MemoryWorkloads();
  readonly secrets = new Map<string, { manifest: SecretManifest; rv: number; uid: string; finalizers?: string[] }>();
  token: ServiceAccountToken;
  #rv = 100;
  /** Return an error to refuse a Secret write (dry runs included), as admission or validation would. */
  refuseSecretWrite: ((manifest: SecretManifest) => Error | undefined) | undefined;
  /** Return an error to refuse a write to the resource's metadata (journal, finalizer), as an admission policy would. */
  refuseMetadataWrite: ((patch: TokenMetadataPatch) => Error | undefined) | undefined;

  constructor(token: ServiceAccountToken) {
    this.token = token;
  }

  #nextRv(): string {
    this.#rv += 1;
    return String(this.#rv);
  }

  observed(key: string): ObservedSecret | undefined {
    const s = this.secrets.get(key);
    if (!s) return undefined;
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...s.manifest.metadata, resourceVersion: String(s.rv), uid: s.uid },
      type: s.manifest.type,
      dataHash: hasher.hash(s.manifest.data),
      dataKeys: Object.keys(s.manifest.data).sort(),
    };
  }

  /** The cache's view: metadata only. */
  cached(key: string): ObservedSecret | undefined {
    const o = this.observed(key);
    if (!o) return undefined;
    const { dataHash: _h, dataKeys: _k, ...meta } = o;
    return meta;
  }

  deps(
    provider: FakeProvider,
    options: { now?: Date; resolution?: Partial<Resolution>; restartsEnabled?: boolean; random?: () => number } = {},
  ) {
    const clock = manualClock(options.now ?? new Date('2026-11-26T12:00:00Z'));
    const woken: string[] = [];
    const restarts = new RestartBatcher({
      api: this.workloads.api,
      clock,
      logger: pino({ level: 'silent' }),
      wake: (key) => woken.push(key),
    });
    const events: Array<{ type: string; reason: string; message: string }> = [];
    const providerObject = {
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: 'p', namespace: 'ns', uid: 'p-uid', resourceVersion: '1' },
      spec: { type: 'reference' },
    } as unknown as AnyProvider;
    let resolution: Resolution = {
      ok: true,
      provider: providerObject,
      client: provider,
      providerKey: 'ns/p',
      credentialFingerprint: 'sha256:cred',
      credentialSecret: { namespace: 'ns', name: 'cred', metadata: { name: 'cred' } },
      ...(options.resolution as object),
    } as Resolution;
    const deps: TokenDeps = {
      tokens: {
        patchStatus: async (_sat, status: TokenStatusPatch, opts = {}) => {
          if (opts.resourceVersion && opts.resourceVersion !== this.token.metadata.resourceVersion)
            throw apiError(409, 'conflict');
          this.writes.push({ kind: 'token-status', body: status });
          const merged: Record<string, unknown> = { ...(this.token.status ?? {}) };
          for (const [k, v] of Object.entries(status)) {
            if (v === null) delete merged[k];
            else merged[k] = structuredClone(v);
          }
          this.token = {
            ...this.token,
            status: merged,
            metadata: { ...this.token.metadata, resourceVersion: this.#nextRv() },
          };
          return this.token;
        },
        patchMetadata: async (_sat, metadata: TokenMetadataPatch, opts = {}) => {
          if (opts.resourceVersion && opts.resourceVersion !== this.token.metadata.resourceVersion)
            throw apiError(409, 'conflict');
          const refusal = this.refuseMetadataWrite?.(metadata);
          if (refusal) throw refusal;
          this.writes.push({ kind: 'token-metadata', body: metadata });
          const annotations: Record<string, string> = { ...(this.token.metadata.annotations ?? {}) };
          for (const [k, v] of Object.entries(metadata.annotations ?? {})) {
            if (v === null) delete annotations[k];
            else annotations[k] = v;
          }
          this.token = {
            ...this.token,
            metadata: {
              ...this.token.metadata,
              annotations,
              ...(metadata.finalizers !== undefined ? { finalizers: metadata.finalizers ?? [] } : {}),
              resourceVersion: this.#nextRv(),
            },
          };
          return this.token;
        },
      },
      secrets: {
        get: async (namespace, name) => this.observed(`${namespace}/${name}`),
        create: async (manifest, opts = {}) => {
          const key = `${manifest.metadata.namespace}/${manifest.metadata.name}`;
          const refusal = this.refuseSecretWrite?.(manifest);
          if (refusal) throw refusal;
          if (this.secrets.has(key)) throw apiError(409, 'AlreadyExists');
          this.writes.push({ kind: 'secret-create', dryRun: !!opts.dryRun });
          if (opts.dryRun) return { ...this.observedOf(manifest), metadata: { ...manifest.metadata } };
          this.secrets.set(key, { manifest: structuredClone(manifest), rv: Number(this.#nextRv()), uid: `uid-${key}` });
          return this.observed(key)!;
        },
        replace: async (manifest, current, opts = {}) => {
          const key = `${manifest.metadata.namespace}/${manifest.metadata.name}`;
          const refusal = this.refuseSecretWrite?.(manifest);
          if (refusal) throw refusal;
          const existing = this.secrets.get(key);
          if (!existing) throw apiError(404, 'not found');
          if (String(existing.rv) !== current.resourceVersion) throw apiError(409, 'conflict');
          this.writes.push({ kind: 'secret-replace', dryRun: !!opts.dryRun });
          if (opts.dryRun) return this.observed(key)!;
          this.secrets.set(key, { ...existing, manifest: structuredClone(manifest), rv: Number(this.#nextRv()) });
          return this.observed(key)!;
        },
        patchMetadata: async (namespace, name, patch: SecretMetadataPatch) => {
          const key = `${namespace}/${name}`;
          const existing = this.secrets.get(key);
          if (!existing) throw apiError(404, 'not found');
          this.writes.push({ kind: 'secret-metadata', body: patch });
          const m = existing.manifest.metadata;
          for (const [k, v] of Object.entries(patch.labels ?? {})) {
            if (v === null) delete m.labels[k];
            else m.labels[k] = v;
          }
          for (const [k, v] of Object.entries(patch.annotations ?? {})) {
            if (v === null) delete m.annotations[k];
            else m.annotations[k] = v;
          }
          if (patch.ownerReferences === null) m.ownerReferences = [];
          existing.rv = Number(this.#nextRv());
          return this.observed(key)!;
        },
        delete: async (namespace, name) => {
          this.writes.push({ kind: 'secret-delete' });
          this.secrets.delete(`${namespace}/${name}`);
        },
      },
      workloads: this.workloads.api,
      restartsEnabled: options.restartsEnabled ?? false,
      restarts,
      providers: { resolve: async () => resolution },
      cachedSecret: (namespace, name) => this.cached(`${namespace}/${name}`),
      events: { record: (_o, type, reason, message) => events.push({ type, reason, message }) },
      logger: pino({ level: 'silent' }),
      clock,
      random: options.random ?? (() => 0),
    };
    return {
      deps,
      clock,
      events,
      restarts,
      woken,
      setResolution: (r: Resolution) => {
        resolution = r;
      },
    };
  }

  observedOf(manifest: SecretManifest): ObservedSecret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...manifest.metadata },
      dataHash: hasher.hash(manifest.data),
      dataKeys: Object.keys(manifest.data).sort(),
    };
  }

  /** Writes other than dry runs. */
  realWrites(): Write[] {
    return this.writes.filter((w) => !w.dryRun);
  }
}

export function refusal(code: number, message: string): Error {
  return apiError(code, message);
}

/** A fresh ServiceAccountToken as the API server would hand it to the controller. */
export function newToken(spec: Record<string, unknown> = {}): ServiceAccountToken {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: {
      name: 'reporting',
      namespace: 'ns',
      uid: '11111111-2222-3333-4444-555555555555',
      generation: 1,
      resourceVersion: '1',
    },
    spec: { providerRef: { kind: 'CredentialsProvider', name: 'p' }, serviceAccount: 'sa', lifetime: '720h', ...spec },
  } as ServiceAccountToken;
}

export { FakeProvider };
