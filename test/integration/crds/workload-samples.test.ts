// Every manifest under deploy/samples/workloads/ passes a server-side dry run on a real API server with the CRDs
// installed: the Deployments are valid apps/v1 objects and the ServiceAccountTokens valid against the CRD's schema and
// CEL rules, so the examples a user copies cannot drift from either API.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { SAMPLES_DIR } from '../../support/paths.ts';

const dir = join(SAMPLES_DIR, 'workloads');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
  const r = await cp.kubectl(['create', 'namespace', 'demo']);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await cp?.stop();
});

describe('deploy/samples/workloads', () => {
  it.each(files)('%s passes server-side dry-run validation', async (file) => {
    const r = await cp.kubectl(['apply', '-n', 'demo', '--dry-run=server', '--server-side', '-f', join(dir, file)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/serviceaccounttoken\.tokensync\.io\/\S+ serverside-applied \(server dry run\)/);
    expect(r.stdout).toMatch(/deployment\.apps\/\S+ serverside-applied \(server dry run\)/);
  });

  it('rejects a broken workload, so the dry run is a real check', async () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: {} } };
    const r = await cp.kubectl(['apply', '-n', 'demo', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(broken),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/selector|containers/);
  });
});
