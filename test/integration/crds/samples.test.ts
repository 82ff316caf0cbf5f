// Every manifest under deploy/samples/ is accepted by a real API server with the CRDs installed, so the samples a
// user copies can never drift from the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { SAMPLES_DIR } from '../../support/paths.ts';
import { sampleDocs, sampleFiles } from '../../support/samples.ts';

let cp: ControlPlane;
const ns = 'samples';

beforeAll(async () => {
  cp = await startControlPlane();
  for (const namespace of [ns, 'tokensync-system']) {
    const r = await cp.kubectl(['create', 'namespace', namespace]);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(async () => {
  await cp?.stop();
});

describe('deploy/samples', () => {
  it.each(sampleFiles())('%s is accepted by the API server (server-side apply)', async (file) => {
    // reference-server.yaml is meant for tokensync-system; files that name their namespaces are applied as they are;
    // the rest go to any namespace, as the README says.
    const docs = sampleDocs(file);
    const namespaced = docs.some((d) => d.object.metadata.namespace);
    const target = file === 'reference-server.yaml' ? ['-n', 'tokensync-system'] : namespaced ? [] : ['-n', ns];
    const path = `${SAMPLES_DIR}/${file}`;
    const apply = await cp.kubectl(['apply', ...target, '--server-side', '-f', path]);
    expect(apply.code, apply.stderr).toBe(0);
    for (const doc of sampleDocs(file))
      expect(apply.stdout).toContain(`${doc.object.metadata.name} serverside-applied`);
  });

  it('stores the defaults the schemas declare', async () => {
    const sat = await cp.kubectl(['get', '-n', ns, 'sat', 'ci-bot', '-o', 'json']);
    expect(sat.code, sat.stderr).toBe(0);
    const spec = JSON.parse(sat.stdout).spec;
    expect(spec.providerRef.kind).toBe('CredentialsProvider');
    expect(spec.readOnly).toBe(false);
    const provider = JSON.parse((await cp.kubectl(['get', '-n', ns, 'cp', 'iomete', '-o', 'json'])).stdout).spec;
    expect(provider.allowInsecureHttp).toBe(false);
  });

  it('lists every sample token and provider', async () => {
    const tokens = await cp.kubectl(['get', '-A', 'sat', '-o', 'name']);
    expect(tokens.stdout.trim().split('\n').length).toBe(
      sampleDocs().filter((d) => d.object.kind === 'ServiceAccountToken').length,
    );
    const providers = await cp.kubectl(['get', '-n', ns, 'credentialsproviders', '-o', 'wide']);
    for (const type of ['reference', 'iomete', 'rill', 'customerio', 'augment', 'http']) {
      expect(providers.stdout).toContain(type);
    }
    const cluster = await cp.kubectl(['get', 'ccp', 'iomete-platform']);
    expect(cluster.code, cluster.stderr).toBe(0);
    // The cluster sample's token lives in the namespace its selector admits.
    const teamA = await cp.kubectl(['get', 'ns', 'team-a', '-o', 'jsonpath={.metadata.labels}']);
    expect(JSON.parse(teamA.stdout)).toMatchObject({ 'tokensync.io/iomete': 'allowed' });
    expect((await cp.kubectl(['get', '-n', 'team-a', 'sat', 'reports'])).code).toBe(0);
  });
});
