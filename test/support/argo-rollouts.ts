// Argo Rollouts is not installed on a bare API server: tests that restart a Rollout install this minimal CRD, the
// group, version, kind and subresource the real one serves (argoproj.io/v1alpha1 rollouts, with a status
// subresource, so spec changes bump metadata.generation as they do with the real CRD), without its schema.
import type { ControlPlane } from './control-plane.ts';

export const ROLLOUT_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'rollouts.argoproj.io' },
  spec: {
    group: 'argoproj.io',
    names: { kind: 'Rollout', listKind: 'RolloutList', plural: 'rollouts', singular: 'rollout', shortNames: ['ro'] },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

/** Installs the CRD and waits until the API server serves it. */
export async function installRolloutCrd(cp: ControlPlane): Promise<void> {
  const apply = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(ROLLOUT_CRD) });
  if (apply.code !== 0) throw new Error(`cannot install the Rollout CRD: ${apply.stderr}`);
  const wait = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/rollouts.argoproj.io']);
  if (wait.code !== 0) throw new Error(`the Rollout CRD is not Established: ${wait.stderr}`);
}

/** A Rollout as a user writes one (canary strategy), for the minimal CRD above. */
export function rollout(name: string, namespace: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      },
      strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
    },
  };
}
