// Shared pieces of the monitoring integration tests: ServiceAccounts with TokenRequest tokens, HTTPS scrapes of the
// controller's secure metrics endpoint (its certificate is self-signed, so the scraper skips verification, as the
// chart's ServiceMonitor does), and the chart rendered with extra values.
import { request as httpsRequest } from 'node:https';
import { kubeRequest } from '../../../src/kube/client.ts';
import { helmTemplate, RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import type { ControlPlane } from '../../support/control-plane.ts';

export { RELEASE_NAMESPACE };

/** Creates ServiceAccount `name` in `namespace` (and the namespace) and returns a TokenRequest token for it. */
export async function serviceAccountToken(cp: ControlPlane, namespace: string, name: string): Promise<string> {
  await cp.kubectl(['create', 'namespace', namespace]);
  await cp.kubectl(['-n', namespace, 'create', 'serviceaccount', name]);
  const response = await kubeRequest<{ status: { token: string } }>(cp.kubeConfig, {
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  return response.status.token;
}

/** Applies the chart's metrics-reader ClusterRoleBinding for `subjects` (metrics.reader.subjects), as rendered. */
export async function bindMetricsReaders(
  cp: ControlPlane,
  subjects: Array<{ kind: string; name: string; namespace?: string }>,
): Promise<void> {
  const args = subjects.flatMap((s, i) => [
    '--set',
    `metrics.reader.subjects[${i}].kind=${s.kind}`,
    '--set',
    `metrics.reader.subjects[${i}].name=${s.name}`,
    ...(s.namespace ? ['--set', `metrics.reader.subjects[${i}].namespace=${s.namespace}`] : []),
  ]);
  const objects = await helmTemplate(cp, [...args, '--show-only', 'templates/metrics-rbac.yaml']);
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
  if (applied.code !== 0) throw new Error(`applying the metrics RBAC failed: ${applied.stderr}`);
}

export interface Scrape {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** subjectaltname of the certificate the server presented. */
  altNames: string;
}

/** GET url (https) with an optional bearer token; the self-signed certificate is accepted, as with insecureSkipVerify. */
export function scrape(url: string, token?: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        const altNames = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subjectaltname ?? '';
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, altNames }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
