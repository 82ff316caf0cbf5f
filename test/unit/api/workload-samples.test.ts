// deploy/samples/workloads/: each Deployment must read what its ServiceAccountToken writes (Secret name and key), and
// env-based consumers must be restarted on rotation while file-based ones must not use subPath (never updated).
// test/integration/crds/workload-samples.test.ts validates the same files on a real API server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { serviceAccountTokenKind } from '../../../src/api/v1alpha1/index.ts';
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

describe('deploy/samples/workloads', () => {
  it('covers envFrom, secretKeyRef and a mounted file', () => {
    expect(files).toEqual(['env-from.yaml', 'mounted-file.yaml', 'secret-key-ref.yaml']);
    const ways = files.flatMap((f) =>
      docsOf(f)
        .filter((d) => d.kind === 'Deployment')
        .flatMap((d) => consumption(d.spec.template.spec)),
    );
    expect(ways.filter((w) => w.atStart && w.key === '*')).toHaveLength(1); // envFrom
    expect(ways.filter((w) => w.atStart && w.key !== '*')).toHaveLength(1); // secretKeyRef
    expect(ways.filter((w) => !w.atStart)).toHaveLength(1); // volume
  });

  it.each(files)('%s: the Deployment reads a Secret and keys its ServiceAccountToken writes', (file) => {
    const docs = docsOf(file);
    const sat = docs.find((d) => d.kind === 'ServiceAccountToken');
    const deployment = docs.find((d) => d.kind === 'Deployment');
    expect(serviceAccountTokenKind.spec.safeParse(sat.spec).error?.issues ?? []).toEqual([]);
    const secretName = sat.spec.secret?.name ?? sat.metadata.name;
    const keys = Object.keys(sat.spec.secret?.template ?? DEFAULT_TEMPLATE);
    const restarted = (sat.spec.restartTargets ?? []).some(
      (t: Loose) => t.kind === 'Deployment' && t.name === deployment.metadata.name,
    );
    for (const use of consumption(deployment.spec.template.spec)) {
      expect(use.secret).toBe(secretName);
      if (use.key !== '*') expect(keys).toContain(use.key);
      if (use.atStart) expect(restarted, `${file}: env consumers must be restart targets`).toBe(true);
      else expect(use.subPath, `${file}: a subPath mount never sees a rotation`).toBe(false);
    }
    if (!consumption(deployment.spec.template.spec).some((u) => u.atStart)) expect(restarted).toBe(false);
  });
});
