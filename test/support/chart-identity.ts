// Runs code as the Helm chart's ServiceAccount: renders the chart, applies exactly its ServiceAccount and RBAC, and
// writes a kubeconfig holding a TokenRequest token for that ServiceAccount. Tests that run the controller this way
// prove the chart's RBAC is enough (and, by what they exercise, that it is not more than needed).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { kubeRequest } from '../../src/kube/client.ts';
import type { ControlPlane } from './control-plane.ts';
import { REPO_ROOT } from './paths.ts';

export const RELEASE_NAMESPACE = 'tokensync-system';

export function helmTemplate(cp: ControlPlane, args: string[] = []): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    execFile(
      join(cp.binDir, 'helm'),
      [
        'template',
        'tokensync',
        join(REPO_ROOT, 'charts/tokensync'),
        '-n',
        RELEASE_NAMESPACE,
        '--kube-version',
        '1.37.0',
        ...args,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(stderr));
        else
          resolve(
            parseAllDocuments(stdout)
              .map((d) => d.toJS() as Record<string, unknown>)
              .filter(Boolean),
          );
      },
    );
  });
}

/** Applies the chart's ServiceAccount and (Cluster)Roles/Bindings; returns a kubeconfig path for that identity. */
export async function chartServiceAccountKubeconfig(cp: ControlPlane, helmArgs: string[] = []): Promise<string> {
  const objects = await helmTemplate(cp, helmArgs);
  const rbac = objects.filter((o) =>
    /^(ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$/.test(o['kind'] as string),
  );
  const name = (rbac.find((o) => o['kind'] === 'ServiceAccount')!['metadata'] as { name: string }).name;
  await cp.kubectl(['create', 'namespace', RELEASE_NAMESPACE]);
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: rbac.map((o) => JSON.stringify(o)).join('\n') });
  if (applied.code !== 0) throw new Error(`applying the chart's RBAC failed: ${applied.stderr}`);
  const response = await kubeRequest<{ status: { token: string } }>(cp.kubeConfig, {
    method: 'POST',
    path: `/api/v1/namespaces/${RELEASE_NAMESPACE}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const cluster = cp.kubeConfig.getCurrentCluster()!;
  const path = join(cp.dir, `${name}.kubeconfig`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
      users: [{ name, user: { token: response.status.token } }],
      contexts: [{ name, context: { cluster: 'local', user: name } }],
      'current-context': name,
    }),
    { mode: 0o600 },
  );
  return path;
}

/**
 * An identity with the chart's whole-cluster rules minus some verbs, granted back namespace by namespace: "a Role
 * without the verb" in every namespace not listed. Returns a kubeconfig path (a client certificate for `name`).
 */
export async function restrictedIdentity(
  cp: ControlPlane,
  options: { name: string; withhold: { resource: string; verbs: string[] }; grantIn: string[] },
): Promise<string> {
  const objects = await helmTemplate(cp);
  const clusterRole = objects.find(
    (o) => o['kind'] === 'ClusterRole' && (o['metadata'] as { name: string }).name === 'tokensync',
  ) as { rules: Array<Record<string, unknown>> };
  const { resource, verbs } = options.withhold;
  const rules = clusterRole.rules.map((rule) =>
    (rule['resources'] as string[]).includes(resource)
      ? { ...rule, verbs: (rule['verbs'] as string[]).filter((v) => !verbs.includes(v)) }
      : rule,
  );
  const name = options.name;
  const manifests = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }],
    },
  ];
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: manifests.map((o) => JSON.stringify(o)).join('\n') });
  if (applied.code !== 0) throw new Error(`applying the restricted identity's RBAC failed: ${applied.stderr}`);
  for (const namespace of options.grantIn) {
    await cp.kubectl(['create', 'namespace', namespace]);
    await grantIn(cp, name, namespace, resource, verbs);
  }
  return cp.createUser(name);
}

/** Grants `verbs` on `resource` in one more namespace to an identity made by restrictedIdentity. */
export async function grantIn(cp: ControlPlane, name: string, namespace: string, resource: string, verbs: string[]) {
  const manifests = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace },
      rules: [{ apiGroups: [''], resources: [resource], verbs }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }],
    },
  ];
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: manifests.map((o) => JSON.stringify(o)).join('\n') });
  if (applied.code !== 0)
    throw new Error(`granting ${verbs.join(',')} ${resource} in ${namespace} failed: ${applied.stderr}`);
}
