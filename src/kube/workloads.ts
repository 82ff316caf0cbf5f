// Rollout restarts of the workloads that read a token only at start.
import { RESTARTED_AT_ANNOTATION } from '../api/v1alpha1/index.ts';
import { isNotFound, type KubeConfig, kubeRequest } from './client.ts';
import { FIELD_MANAGER, MERGE_PATCH, paths } from './paths.ts';

const RESOURCES: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

export class WorkloadApi {
  readonly #kc: KubeConfig;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  /** The same change `kubectl rollout restart` makes: a pod-template annotation, so pods roll gradually. */
  async restart(namespace: string, kind: string, name: string, at: string): Promise<'restarted' | 'not-found'> {
    const resource = RESOURCES[kind];
    if (!resource) throw new Error(`cannot restart kind ${kind}`);
    try {
      await kubeRequest(this.#kc, {
        method: 'PATCH',
        path: paths.workload(namespace, resource, name),
        query: { fieldManager: FIELD_MANAGER },
        body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } },
        contentType: MERGE_PATCH,
      });
      return 'restarted';
    } catch (error) {
      if (isNotFound(error)) return 'not-found';
      throw error;
    }
  }
}
