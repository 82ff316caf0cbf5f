// deploy/samples/workloads/: each Deployment must read what its ServiceAccountToken writes (Secret name and key), and
// env-based consumers must be restarted on rotation (named or selected) while file-based ones must not use subPath
// (never updated).
// test/integration/crds/workload-samples.test.ts validates the same files on a real API server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { serviceAccountTokenKind } from '../../../src/api/v1alpha1/index.ts';
import { matchesSelector } from '../../../src/controller/label-selector.ts';
import { DEFAULT_TEMPLATE } from '../../../src/controller/template.ts';
import { SAMPLES_DIR } from '../../support/paths.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are read field by field
type Loose = any;
const dir = join(SAMPLES_DIR, 'workloads');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const docsOf = (file: string): Loose[] =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean);

/** Which Secret keys each way of consuming reads, and whether it is read only at container start. */
function consumption(pod: Loose): Array<{ secret: string; key: string | '*'; atStart: boolean; subPath: boolean }> {
  const out: Array<{ secret: string; key: string | '*'; atStart: boolean; subPath: boolean }> = [];
  const volumes = new Map<string, string>(
    (pod.volumes ?? []).filter((v: Loose) => v.secret).map((v: Loose) => [v.name, v.secret.secretName]),
  );
  for (const c of pod.containers) {
    for (const e of c.envFrom ?? [])
      if (e.secretRef) out.push({ secret: e.secretRef.name, key: '*', atStart: true, subPath: false });
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) out.push({ secret: ref.name, key: ref.key, atStart: true, subPath: false });
    }
    for (const m of c.volumeMounts ?? []) {
      const secret = volumes.get(m.name);
      if (secret) out.push({ secret, key: '*', atStart: false, subPath: Boolean(m.subPath) });
    }
  }
  return out;
}

/** Whether a restart target of the ServiceAccountToken names or selects this Deployment. */
function restartedBy(sat: Loose, deployment: Loose): boolean {
  return (sat.spec.restartTargets ?? []).some(
    (t: Loose) =>
      t.kind === 'Deployment' &&
      (t.name !== undefined
        ? t.name === deployment.metadata.name
        : matchesSelector(t.selector, deployment.metadata.labels ?? {})),
  );
}

describe('deploy/samples/workloads', () => {
  it('covers envFrom, secretKeyRef, a mounted file, and restart targets by name and by selector', () => {
    expect(files).toEqual(['env-from.yaml', 'mounted-file.yaml', 'secret-key-ref.yaml', 'selector.yaml']);
    const ways = ['env-from.yaml', 'mounted-file.yaml', 'secret-key-ref.yaml'].flatMap((f) =>
      docsOf(f)
        .filter((d) => d.kind === 'Deployment')
        .flatMap((d) => consumption(d.spec.template.spec)),
    );
    expect(ways.filter((w) => w.atStart && w.key === '*')).toHaveLength(1); // envFrom
    expect(ways.filter((w) => w.atStart && w.key !== '*')).toHaveLength(1); // secretKeyRef
    expect(ways.filter((w) => !w.atStart)).toHaveLength(1); // volume
    const targets = files.flatMap((f) =>
      docsOf(f)
        .filter((d) => d.kind === 'ServiceAccountToken')
        .flatMap((d) => d.spec.restartTargets ?? []),
    );
    expect(targets.some((t: Loose) => t.name)).toBe(true);
    expect(targets.some((t: Loose) => t.selector)).toBe(true);
  });

  it('selector.yaml selects more than one Deployment, and only those of the sample', () => {
    const docs = docsOf('selector.yaml');
    const sat = docs.find((d) => d.kind === 'ServiceAccountToken');
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    expect(deployments.length).toBeGreaterThan(1);
    for (const d of deployments) expect(restartedBy(sat, d), d.metadata.name).toBe(true);
    expect(restartedBy(sat, { metadata: { name: 'other', labels: { app: 'other' } } })).toBe(false);
  });

  it.each(files)('%s: every Deployment reads a Secret and keys its ServiceAccountToken writes', (file) => {
    const docs = docsOf(file);
    const sat = docs.find((d) => d.kind === 'ServiceAccountToken');
    expect(serviceAccountTokenKind.spec.safeParse(sat.spec).error?.issues ?? []).toEqual([]);
    const secretName = sat.spec.secret?.name ?? sat.metadata.name;
    const keys = Object.keys(sat.spec.secret?.template ?? DEFAULT_TEMPLATE);
    for (const deployment of docs.filter((d) => d.kind === 'Deployment')) {
      const restarted = restartedBy(sat, deployment);
      const uses = consumption(deployment.spec.template.spec);
      expect(uses.length, `${file}: ${deployment.metadata.name} reads no Secret`).toBeGreaterThan(0);
      for (const use of uses) {
        expect(use.secret).toBe(secretName);
        if (use.key !== '*') expect(keys).toContain(use.key);
        if (use.atStart) expect(restarted, `${file}: env consumers must be restart targets`).toBe(true);
        else expect(use.subPath, `${file}: a subPath mount never sees a rotation`).toBe(false);
      }
      if (!uses.some((u) => u.atStart)) expect(restarted).toBe(false);
    }
  });
});
