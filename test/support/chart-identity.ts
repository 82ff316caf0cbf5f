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
