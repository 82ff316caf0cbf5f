// Rollout restarts of the workloads that read a token only at start, and what the rollout gate reads of them.
import { RESTARTED_AT_ANNOTATION, type RestartTargetKind } from '../api/v1alpha1/index.ts';
import { isNotFound, type KubeConfig, kubeRequest, listAll } from './client.ts';
import { FIELD_MANAGER, MERGE_PATCH, paths } from './paths.ts';

/** Where each kind lives: apps/v1 for the built-in ones, Argo Rollouts' CRD for Rollout. */
export const WORKLOAD_RESOURCES: Record<RestartTargetKind, { group: string; version: string; resource: string }> = {
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  Rollout: { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts' },
};

/** A workload as the rollout gate reads it: generation, spec and status, kept as the API server sent them. */
export interface Workload {
  metadata: { name: string; generation?: number; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export type RestartResult = { result: 'restarted'; generation: number | undefined } | { result: 'not-found' };

function base(kind: RestartTargetKind, namespace: string): string {
  const r = WORKLOAD_RESOURCES[kind];
  if (!r) throw new Error(`cannot restart kind ${kind}`);
  return paths.workloads(r.group, r.version, namespace, r.resource);
}

/**
 * The change that restarts each kind's pods gradually, as its own tooling makes it: `kubectl rollout restart`'s
 * pod-template annotation for apps/v1, and for an Argo Rollout its documented spec.restartAt (the Rollout controller
 * restarts every pod created before that time; a pod-template change would start a new canary or blue-green release).
 */
export function restartPatch(kind: RestartTargetKind, at: string): Record<string, unknown> {
  if (kind === 'Rollout') return { spec: { restartAt: at } };
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } };
}

export class WorkloadApi {
  readonly #kc: KubeConfig;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  /** Restarts one workload; the generation the change produced is what its rollout is judged against. */
  async restart(namespace: string, kind: RestartTargetKind, name: string, at: string): Promise<RestartResult> {
    try {
      const patched = await kubeRequest<Workload>(this.#kc, {
        method: 'PATCH',
        path: `${base(kind, namespace)}/${encodeURIComponent(name)}`,
        query: { fieldManager: FIELD_MANAGER },
        body: restartPatch(kind, at),
        contentType: MERGE_PATCH,
      });
      return { result: 'restarted', generation: patched.metadata.generation };
    } catch (error) {
      if (isNotFound(error)) return { result: 'not-found' };
      throw error;
    }
  }

  /** One workload, or undefined when it does not exist. */
  async get(namespace: string, kind: RestartTargetKind, name: string): Promise<Workload | undefined> {
    try {
      return await kubeRequest<Workload>(this.#kc, {
        method: 'GET',
        path: `${base(kind, namespace)}/${encodeURIComponent(name)}`,
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Names of the workloads of a kind that match a label selector (in its query form). A kind the cluster does not
   * serve (Argo Rollouts not installed) has no workloads: 404 on the collection is an empty list.
   */
  async list(namespace: string, kind: RestartTargetKind, labelSelector: string): Promise<string[]> {
    try {
      const items = await listAll<Workload>(this.#kc, base(kind, namespace), { labelSelector });
      return items.map((w) => w.metadata.name).sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }
}
