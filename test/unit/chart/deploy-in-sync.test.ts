// deploy/ (kustomize) and charts/tokensync/files/crds/ are rendered from the chart and the generated CRDs by
// deploy/render.sh. This fails when someone changed the chart or the API and forgot to re-render.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findHelm, REPO_ROOT } from './helm.ts';

const found = findHelm();
if ('reason' in found) console.warn(`[deploy-in-sync] skipped: ${found.reason}`);

describe.skipIf('reason' in found)('deploy/ rendered from the chart', () => {
  it('is up to date (else run deploy/render.sh)', () => {
    if ('reason' in found) return;
    const result = spawnSync('bash', [join(REPO_ROOT, 'deploy', 'render.sh'), '--check'], {
      env: { ...process.env, HELM: found.helm },
      encoding: 'utf8',
    });
    expect(result.stderr.split('\n').filter((l) => l.startsWith('stale:'))).toEqual([]);
    expect(result.status, result.stderr.slice(0, 4000)).toBe(0);
  });

  it('builds with kustomize, base and overlay', () => {
    if ('reason' in found) return;
    const kubectl = join(found.binDir, 'kubectl');
    for (const dir of ['deploy/base', 'deploy/overlays/single-namespace']) {
      const out = execFileSync(kubectl, ['kustomize', join(REPO_ROOT, dir)], { encoding: 'utf8' });
      expect(out).toContain('kind: Deployment');
    }
    const overlay = execFileSync(kubectl, ['kustomize', join(REPO_ROOT, 'deploy/overlays/single-namespace')], {
      encoding: 'utf8',
    });
    expect(overlay).toContain('--namespace=my-app');
    const objects = parseAllDocuments(overlay).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    const rbac = objects.filter((o) => o.kind.includes('Role')).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(rbac.sort()).toEqual([
      'ClusterRole/tokensync-cluster-read',
      'ClusterRole/tokensync-metrics-auth',
      'ClusterRole/tokensync-metrics-reader',
      'ClusterRoleBinding/tokensync-cluster-read',
      // Secure metrics: TokenReview/SubjectAccessReview are cluster-scoped in either mode (from the base).
      'ClusterRoleBinding/tokensync-metrics-auth',
      'Role/tokensync',
      'Role/tokensync-leader-election',
      'Role/tokensync-release',
      'RoleBinding/tokensync',
      'RoleBinding/tokensync-leader-election',
      'RoleBinding/tokensync-release',
    ]);
  });
});
