// What a custom-resource write costs the API server, and why (issue 11: two of the three writes on the path to Ready
// are writes of the ServiceAccountToken, and the creation bound prices every write as a bare Secret create).
// One Go-built kube-apiserver + etcd; the same N requests from 16 clients against:
//   - Secrets (the baseline the creation bound uses);
//   - the ServiceAccountToken CRD as generated (structural schema with descriptions, CEL rules), under a bench group;
//   - the same schema without its CEL rules (x-kubernetes-validations);
//   - the same schema without descriptions (what `kubectl explain` shows; the API server keeps them in its OpenAPI);
//   - no schema at all (x-kubernetes-preserve-unknown-fields), the floor of a custom-resource write.
// For each: N creates, N merge patches of metadata (the journal write: an annotation and the finalizer, guarded by
// resourceVersion) and N merge patches of status (the final status write, three conditions). Prints times and
// ratios against the Secret creates measured in the same run; asserts nothing. Loopback only.
//
//   npx node bench/custom-resource-cost.bench.ts       BENCH_N=1000
import { customResourceDefinition } from '../src/api/v1alpha1/crd.ts';
import { serviceAccountTokenKind } from '../src/api/v1alpha1/kinds.ts';
import { kubeRequest } from '../src/kube/client.ts';
import { MERGE_PATCH } from '../src/kube/paths.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import { log, pool, until } from './support.ts';

const N = Number(process.env['BENCH_N'] ?? 1000);
const CONCURRENCY = 16;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);

type Json = Record<string, unknown>;

/** A deep copy of `node` with every key for which `drop` says so removed. */
function without(node: unknown, drop: (key: string) => boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => without(n, drop));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node)
        .filter(([k]) => !drop(k))
        .map(([k, v]) => [k, without(v, drop)]),
    );
  }
  return node;
}

const variants: Array<{ name: string; describe: string; schema: (s: Json) => Json }> = [
  { name: 'generated', describe: 'as generated (schema, descriptions, CEL rules)', schema: (s) => s },
  {
    name: 'nocel',
    describe: 'without CEL rules',
    schema: (s) => without(s, (k) => k === 'x-kubernetes-validations') as Json,
  },
  { name: 'nodesc', describe: 'without descriptions', schema: (s) => without(s, (k) => k === 'description') as Json },
  {
    name: 'open',
    describe: 'no schema (preserve-unknown-fields)',
    schema: () => ({
      type: 'object',
      properties: {
        spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    }),
  },
];

const cp = await startControlPlane({ crds: false });
const kc = cp.kubeConfig;
const post = (path: string, body: unknown) => kubeRequest(kc, { method: 'POST', path, body });
const patch = (path: string, body: unknown) =>
  kubeRequest(kc, { method: 'PATCH', path, body, contentType: MERGE_PATCH });

async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await pool(
    Array.from({ length: n }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      await fn(i);
    },
  );
  return performance.now() - start;
}

const status = (i: number) => ({
  observedGeneration: 1,
  tokenId: `tok-${i}-0123456789abcdef`,
  tokenName: `bench-t-${i}-r1`,
  revision: 1,
  issuedAt: '2026-12-02T15:00:00Z',
  expiresAt: '2027-01-01T15:00:00Z',
  renewalTime: '2026-12-22T15:00:00Z',
  secretName: `t-${i}`,
  secretHash: 'sha256:0123456789abcdef0123456789abcdef',
  secretResourceVersion: '12345',
  specHash: 'abcdef0123456789',
  pending: null,
  conditions: ['Ready', 'Issued', 'LifetimeHonored'].map((type) => ({
    type,
    status: 'True',
    reason: type === 'Ready' ? 'Issued' : 'AsRequested',
    message: `Token bench-t-${i}-r1 is in Secret t-${i}`,
    lastTransitionTime: '2026-12-02T15:00:00Z',
    observedGeneration: 1,
  })),
});

try {
  log(`custom-resource write cost: N=${N}, ${CONCURRENCY} clients, best of ${ROUNDS} rounds per figure`);
  const generated = customResourceDefinition(serviceAccountTokenKind) as Json;
  for (const v of variants) {
    const crd = structuredClone(generated) as {
      metadata: { name: string };
      spec: { group: string; versions: Array<{ schema: { openAPIV3Schema: Json } }> };
    };
    crd.spec.group = `${v.name}.bench.tokensync.io`;
    crd.metadata.name = `serviceaccounttokens.${crd.spec.group}`;
    for (const version of crd.spec.versions) version.schema.openAPIV3Schema = v.schema(version.schema.openAPIV3Schema);
    await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  }
  // Established, and served by the API server's discovery.
  for (const v of variants) {
    await until(
      `${v.name}.bench.tokensync.io served`,
      () =>
        kubeRequest(kc, {
          method: 'GET',
          path: `/apis/${v.name}.bench.tokensync.io/v1alpha1/serviceaccounttokens`,
        }).then(
          () => true,
          () => false,
        ),
      20_000,
    );
  }

  const best = (xs: number[]) => Math.min(...xs);
  const secretTimes: number[] = [];
  const secretPatch: number[] = [];
  const extra = {
    put: [] as number[],
    oneCondition: [] as number[],
    tiny: [] as number[],
    metaAfterStatus: [] as number[],
  };
  const crTimes = new Map(
    variants.map((v) => [v.name, { create: [] as number[], meta: [] as number[], status: [] as number[] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, so that drift of the machine during the run touches every variant alike.
    const ns = `secrets-${round}`;
    await post('/api/v1/namespaces', { metadata: { name: ns } });
    secretTimes.push(
      await timed(N, (i) =>
        post(`/api/v1/namespaces/${ns}/secrets`, {
          metadata: { name: `t-${i}`, labels: { 'app.kubernetes.io/managed-by': 'tokensync' } },
          stringData: { token: `value-${i}-0123456789abcdef0123456789abcdef` },
        }),
      ),
    );
    secretPatch.push(
      await timed(N, (i) =>
        patch(`/api/v1/namespaces/${ns}/secrets/t-${i}`, { metadata: { annotations: { 'bench/x': `${i}` } } }),
      ),
    );
    for (const v of variants) {
      const group = `${v.name}.bench.tokensync.io`;
      const vns = `${v.name}-${round}`;
      await post('/api/v1/namespaces', { metadata: { name: vns } });
      const base = `/apis/${group}/v1alpha1/namespaces/${vns}/serviceaccounttokens`;
      const t = crTimes.get(v.name)!;
      const rv = new Map<number, string>();
      t.create.push(
        await timed(N, async (i) => {
          const created = (await post(base, {
            apiVersion: `${group}/v1alpha1`,
            kind: 'ServiceAccountToken',
            metadata: { name: `t-${i}` },
            spec: { providerRef: { name: 'reference' }, serviceAccount: 'sa-bench', lifetime: '720h' },
          })) as { metadata: { resourceVersion: string } };
          rv.set(i, created.metadata.resourceVersion);
        }),
      );
      t.meta.push(
        await timed(N, (i) =>
          patch(`${base}/t-${i}`, {
            metadata: {
              resourceVersion: rv.get(i),
              annotations: { 'tokensync.io/pending-mint': `{"name":"bench-t-${i}-r1","revision":1}` },
              finalizers: ['tokensync.io/revoke'],
            },
          }),
        ),
      );
      t.status.push(await timed(N, (i) => patch(`${base}/t-${i}/status`, { status: status(i) })));
      if (v.name === 'generated') {
        // The same status written by update (PUT) instead of a merge patch, and a status with one condition.
        const objects = new Map<number, Json>();
        await pool(
          Array.from({ length: N }, (_, i) => i),
          CONCURRENCY,
          async (i) => {
            objects.set(i, (await kubeRequest(kc, { method: 'GET', path: `${base}/t-${i}` })) as Json);
          },
        );
        extra.put.push(
          await timed(N, (i) => {
            const o = objects.get(i)!;
            return kubeRequest(kc, {
              method: 'PUT',
              path: `${base}/t-${i}/status`,
              body: { ...o, status: { ...status(i), revision: 2 } },
            });
          }),
        );
        extra.oneCondition.push(
          await timed(N, (i) =>
            patch(`${base}/t-${i}/status`, {
              status: { ...status(i), revision: 3, conditions: status(i).conditions.slice(0, 1) },
            }),
          ),
        );
        extra.tiny.push(await timed(N, (i) => patch(`${base}/t-${i}/status`, { status: { revision: 4 } })));
        // The journal write again, now that the object carries a status (a renewal's first write).
        extra.metaAfterStatus.push(
          await timed(N, (i) =>
            patch(`${base}/t-${i}`, {
              metadata: { annotations: { 'tokensync.io/pending-mint': `{"name":"bench-t-${i}-r2","revision":2}` } },
            }),
          ),
        );
      }
    }
  }
  const secret = best(secretTimes);
  log(
    `Secrets: ${N} creates ${(secret / 1000).toFixed(2)} s (${(N / (secret / 1000)).toFixed(0)}/s), ` +
      `${N} metadata merge patches ${(best(secretPatch) / 1000).toFixed(2)} s (${(best(secretPatch) / secret).toFixed(2)}x a create)`,
  );
  log('ServiceAccountToken, ratio to a Secret create (same run):');
  log('  variant                                          create   metadata patch   status patch');
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s ${(ms / secret).toFixed(2)}x`.padEnd(17);
  for (const v of variants) {
    const t = crTimes.get(v.name)!;
    log(`  ${v.describe.padEnd(48)} ${f(best(t.create))}${f(best(t.meta))}${f(best(t.status))}`);
  }
  log(
    `  status written other ways (as generated): update (PUT) of the whole object ${(best(extra.put) / secret).toFixed(2)}x, ` +
      `merge patch with one condition of three ${(best(extra.oneCondition) / secret).toFixed(2)}x, ` +
      `merge patch of one number ${(best(extra.tiny) / secret).toFixed(2)}x; ` +
      `the metadata patch again once the object has a status ${(best(extra.metaAfterStatus) / secret).toFixed(2)}x`,
  );
} finally {
  await cp.stop();
}
