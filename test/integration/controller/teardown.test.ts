// R3, deletion always completes: `kubectl delete namespace` with providers, their credential Secrets and tokens
// inside finishes by itself, every token revoked (in-use protection holds the provider and its credential until the
// last token is gone), and an upstream that is gone for good has a documented way out (deletionPolicy: Retain).
// Needs kube-controller-manager: the namespace controller and the garbage collector do the deleting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_USE_FINALIZER } from '../../../src/api/v1alpha1/index.ts';
import { startCredentialsApi } from '../../../src/credentials-api/index.ts';
import { isNotFound, kubeRequest } from '../../../src/kube/client.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { allTokens, leaks, readyOf } from './rules.ts';

const h = new Harness();

beforeAll(async () => {
  await h.start({ controllerManager: true });
  await h.startController();
}, 120_000);

afterAll(async () => {
  await h.stop();
});

async function exists(path: string): Promise<{ metadata: { finalizers?: string[] } } | undefined> {
  try {
    return await kubeRequest(h.kc, { method: 'GET', path });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const namespacePath = (ns: string) => `/api/v1/namespaces/${ns}`;
const providerPath = (ns: string, name: string) =>
  `/apis/tokensync.io/v1alpha1/namespaces/${ns}/credentialsproviders/${name}`;

async function deleteNamespace(ns: string): Promise<void> {
  await kubeRequest(h.kc, { method: 'DELETE', path: namespacePath(ns) });
}

/** Why a namespace is still there: its conditions, as `kubectl describe namespace` shows them. */
async function namespaceState(ns: string): Promise<string> {
  const n = await exists(namespacePath(ns));
  if (!n) return 'gone';
  const conditions = (n as { status?: { conditions?: Array<{ type: string; message?: string }> } }).status?.conditions;
  return JSON.stringify(conditions?.filter((c) => c.message).map((c) => `${c.type}: ${c.message}`));
}

describe('namespace teardown (R3)', () => {
  it('deleting a namespace with providers, credential Secrets and 100 tokens completes with every token revoked', async () => {
    const ns = 'teardown';
    await h.setupNamespace(ns);
    // A second provider with its own credential Secret: two protection chains to unwind.
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'second-admin', namespace: ns, labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: h.api.adminKey },
    });
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: 'second', namespace: ns },
      spec: {
        type: 'reference',
        url: h.api.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'second-admin', key: 'token' } },
        rateLimit: { requestsPerSecond: 200, burst: 200 },
      },
    });
    const names = Array.from({ length: 100 }, (_, i) => `app-${i}`);
    await Promise.all(
      names.map((name, i) =>
        h.createToken(ns, name, {
          serviceAccount: `teardown-sa-${i % 7}`,
          ...(i % 2 ? { providerRef: { name: 'second' } } : {}),
        }),
      ),
    );
    await waitFor(
      '100 tokens Ready',
      async () => (await allTokens(h, ns)).filter((t) => isReady(t)).length === names.length,
      120_000,
    );
    const ours = (t: { serviceAccountId: string }) => t.serviceAccountId.startsWith('teardown-sa-');
    expect((await h.liveTokens()).filter(ours)).toHaveLength(100);
    for (const [kind, path] of [
      ['provider reference', providerPath(ns, 'reference')],
      ['provider second', providerPath(ns, 'second')],
      ['credential reference-admin', `/api/v1/namespaces/${ns}/secrets/reference-admin`],
      ['credential second-admin', `/api/v1/namespaces/${ns}/secrets/second-admin`],
    ] as const) {
      expect((await exists(path))?.metadata.finalizers, `${kind} is protected while in use`).toContain(
        IN_USE_FINALIZER,
      );
    }
    const before = await h.stats();

    await deleteNamespace(ns);
    await waitFor(`namespace ${ns} gone`, async () => !(await exists(namespacePath(ns))), 180_000).catch(
      async (error: Error) => {
        const left = await allTokens(h, ns).catch(() => []);
        throw new Error(
          `${error.message}; namespace: ${await namespaceState(ns)}; ${left.length} tokens left, e.g. ${JSON.stringify(readyOf(left[0]))}`,
        );
      },
    );

    expect((await h.liveTokens()).filter(ours), 'every token revoked upstream').toEqual([]);
    expect((await h.stats()).revokes - before.revokes).toBeGreaterThanOrEqual(100);
  }, 300_000);

  it('deleting namespaces that hold a single token each completes, the token revoked', async () => {
    // One token per namespace: the provider's in-use finalizer is added just before the token's first mint, and
    // must not be dropped in the moment before the token carries its own finalizer.
    const namespaces = Array.from({ length: 6 }, (_, i) => `solo-${i}`);
    for (const ns of namespaces) {
      await h.setupNamespace(ns);
      await h.createToken(ns, 'only', { serviceAccount: `${ns}-sa` });
    }
    for (const ns of namespaces) {
      await waitFor(`${ns}/only Ready`, async () => isReady(await h.getToken(ns, 'only')));
    }
    // Any provider event (its own status, a re-check) gives a wrong release its chance; then delete.
    await new Promise((r) => setTimeout(r, 3000));
    for (const ns of namespaces) {
      expect(
        (await exists(providerPath(ns, 'reference')))?.metadata.finalizers,
        `${ns}: the provider is protected while its token lives`,
      ).toContain(IN_USE_FINALIZER);
      await deleteNamespace(ns);
    }
    for (const ns of namespaces) {
      await waitFor(`namespace ${ns} gone`, async () => !(await exists(namespacePath(ns))), 120_000).catch(
        async (error: Error) => {
          const left = await allTokens(h, ns).catch(() => []);
          throw new Error(`${error.message}; ${JSON.stringify(left.map((t) => readyOf(t)))}`);
        },
      );
    }
    const solo = (t: { serviceAccountId: string }) => t.serviceAccountId.startsWith('solo-');
    expect((await h.liveTokens()).filter(solo)).toEqual([]);
  }, 240_000);

  it('an upstream gone for good holds the namespace, and deletionPolicy Retain releases it', async () => {
    const ns = 'abandoned';
    // A credentials API of its own, so it can disappear for good.
    const doomed = await startCredentialsApi({ rateLimit: false });
    let closed = false;
    try {
      await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await h.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'doomed-admin', namespace: ns, labels: { 'tokensync.io/credential': 'true' } },
        stringData: { token: doomed.adminKey },
      });
      await h.apply({
        apiVersion: 'tokensync.io/v1alpha1',
        kind: 'CredentialsProvider',
        metadata: { name: 'doomed', namespace: ns },
        spec: {
          type: 'reference',
          url: doomed.url,
          allowInsecureHttp: true,
          timeout: '1s',
          auth: { secretRef: { name: 'doomed-admin', key: 'token' } },
        },
      });
      const names = ['left-0', 'left-1', 'left-2'];
      await Promise.all(names.map((n) => h.createToken(ns, n, { providerRef: { name: 'doomed' } })));
      await waitFor('3 tokens Ready', async () => (await allTokens(h, ns)).filter((t) => isReady(t)).length === 3);

      await doomed.close();
      closed = true;
      await deleteNamespace(ns);
      // Revocation cannot succeed: the tokens stay, say why, and name the way out.
      const stuck = await waitFor(
        'a token saying it cannot revoke',
        async () => {
          const t = (await allTokens(h, ns)).find((s) => s.metadata.deletionTimestamp && s.status?.lastFailure);
          return t && /Retain/.test(readyOf(t)?.message ?? '') ? t : undefined;
        },
        60_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}; ${JSON.stringify((await allTokens(h, ns)).map((t) => readyOf(t)))}`);
      });
      expect(readyOf(stuck)).toMatchObject({ status: 'False', reason: 'Revoking' });
      expect(readyOf(stuck)?.message).toContain('deletionPolicy');
      expect(await exists(namespacePath(ns)), 'the namespace waits for the revocations').toBeDefined();

      // The escape hatch, as docs/operations.md gives it.
      for (const name of names) {
        const patched = await h.cp.kubectl([
          'patch',
          'sat',
          name,
          '-n',
          ns,
          '--type',
          'merge',
          '-p',
          '{"spec":{"deletionPolicy":"Retain"}}',
        ]);
        expect(patched.code, patched.stderr).toBe(0);
      }
      await waitFor(`namespace ${ns} gone`, async () => !(await exists(namespacePath(ns))), 120_000).catch(
        async (error: Error) => {
          throw new Error(`${error.message}; namespace: ${await namespaceState(ns)}`);
        },
      );
    } finally {
      if (!closed) await doomed.close();
    }
  }, 240_000);

  it('leaves no live token unreferenced', async () => {
    expect(await leaks(h)).toEqual([]);
  });
});
