// R2 and R1 for a Secret write the API server refuses, with the real mechanisms: a ValidatingAdmissionPolicy, a
// ResourceQuota on secrets, and RBAC without `create` on secrets in one namespace. Each costs exactly one mint, which
// is revoked at once; later attempts dry-run the Secret first and mint nothing while the cause stays; once the cause
// is removed the token is issued and Ready: at once after kubectl tokensync renew or a spec change, else when the
// backoff runs out. The three run side by side, one namespace each.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { isNotFound, kubeRequest } from '../../../src/kube/client.ts';
import { loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { grantIn, RELEASE_NAMESPACE, restrictedIdentity } from '../../support/chart-identity.ts';
import { REPO_ROOT } from '../../support/paths.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { leaks, readyOf, unsettled } from './rules.ts';

const h = new Harness();
const IDENTITY = 'tokensync-restricted';
const VAP_NS = 'refused-vap';
const QUOTA_NS = 'refused-quota';
const RBAC_NS = 'refused-rbac';
/** Here the write refused is the one to the ServiceAccountToken that records a mint before it happens. */
const JOURNAL_NS = 'refused-journal';

interface Mechanism {
  namespace: string;
  /** Text the refusal carries, as the API server words it. */
  says: RegExp;
  remove(): Promise<void>;
  /**
   * What the user does after the fix: `renew` runs kubectl tokensync renew (the runbook's advice), `edit` changes the
   * spec; both retry at once despite the backoff. `wait` lets the backoff run out.
   */
  afterFix: 'renew' | 'edit' | 'wait';
}

async function kubectlApply(objects: object[]): Promise<void> {
  const applied = await h.cp.kubectl(['apply', '-f', '-'], {
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });
  if (applied.code !== 0) throw new Error(applied.stderr);
}

async function deleteIfPresent(path: string): Promise<void> {
  try {
    await kubeRequest(h.kc, { method: 'DELETE', path });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** A dry-run create of a tokensync-labelled Secret as admin: refused once the cause is in force. */
async function refusedNow(namespace: string): Promise<boolean> {
  try {
    await kubeRequest(h.kc, {
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/secrets`,
      query: { dryRun: 'All' },
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'probe', labels: { 'app.kubernetes.io/managed-by': 'tokensync' } },
        data: { token: 'eA==' },
      },
    });
    return false;
  } catch {
    return true;
  }
}

const mechanisms: Record<string, Mechanism> = {
  'a ValidatingAdmissionPolicy': {
    namespace: VAP_NS,
    says: /ValidatingAdmissionPolicy 'no-tokensync-secrets'.*denied request: Secrets written by tokensync are not allowed/,
    remove: () =>
      deleteIfPresent(
        '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/no-tokensync-secrets-here',
      ),
    afterFix: 'renew',
  },
  'a ResourceQuota': {
    namespace: QUOTA_NS,
    says: /exceeded quota: secrets-quota/,
    remove: () =>
      kubectlApply([
        {
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: { name: 'secrets-quota', namespace: QUOTA_NS },
          spec: { hard: { secrets: '10' } },
        },
      ]),
    afterFix: 'edit',
  },
  'RBAC without secrets create': {
    namespace: RBAC_NS,
    says: /Kubernetes API 403: .*cannot create resource "secrets".*in the namespace "refused-rbac"/,
    remove: () => grantIn(h.cp, IDENTITY, RBAC_NS, 'secrets', ['create']),
    afterFix: 'wait',
  },
};

beforeAll(async () => {
  // The controller manager computes quota usage, as on a real cluster.
  await h.start({ controllerManager: true });
  // The controller runs as an identity with the chart's rules but without `create` on secrets, granted back in every
  // namespace but refused-rbac.
  const kubeconfig = await restrictedIdentity(h.cp, {
    name: IDENTITY,
    withhold: { resource: 'secrets', verbs: ['create'] },
    grantIn: [RELEASE_NAMESPACE, VAP_NS, QUOTA_NS, JOURNAL_NS],
  });
  h.controllerKubeconfigPath = kubeconfig;
  h.controllerKubeConfig = loadKubeConfig({ kubeconfig });
  for (const ns of [VAP_NS, QUOTA_NS, RBAC_NS, JOURNAL_NS]) await h.setupNamespace(ns);

  await kubectlApply([
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'no-tokensync-secrets' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] },
          ],
        },
        validations: [
          {
            expression:
              "!has(object.metadata.labels) || !('app.kubernetes.io/managed-by' in object.metadata.labels) || object.metadata.labels['app.kubernetes.io/managed-by'] != 'tokensync'",
            message: 'Secrets written by tokensync are not allowed in this namespace',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'no-tokensync-secrets-here' },
      spec: {
        policyName: 'no-tokensync-secrets',
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': VAP_NS } } },
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'no-mint-journal' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['tokensync.io'],
              apiVersions: ['v1alpha1'],
              operations: ['UPDATE'],
              resources: ['serviceaccounttokens'],
            },
          ],
        },
        validations: [
          {
            expression:
              "!has(object.metadata.annotations) || !('tokensync.io/pending-mint' in object.metadata.annotations)",
            message: 'no mints recorded in this namespace',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'no-mint-journal-here' },
      spec: {
        policyName: 'no-mint-journal',
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': JOURNAL_NS } } },
      },
    },
    // The credential Secret is already there: one Secret is all the quota allows.
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'secrets-quota', namespace: QUOTA_NS },
      spec: { hard: { secrets: '1' } },
    },
  ]);
  await waitFor('the policy and the quota in force', async () => (await refusedNow(VAP_NS)) && refusedNow(QUOTA_NS));
  await h.startController();
}, 180_000);

afterAll(async () => {
  await h.stop();
});

/** Successful mints and revocations through one namespace's provider (the controller's own counters). */
async function calls(namespace: string): Promise<{ mints: number; revokes: number }> {
  const count = async (metric: typeof h.metrics.mints) =>
    (await metric.get()).values
      .filter((v) => v.labels['provider'] === `${namespace}/reference` && v.labels['result'] === 'success')
      .reduce((sum, v) => sum + v.value, 0);
  return { mints: await count(h.metrics.mints), revokes: await count(h.metrics.revocations) };
}

/** Runs the kubectl plugin (kubectl-tokensync) as the admin. */
function plugin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'src/cli/kubectl-plugin.ts'), ...args],
      { env: { ...process.env, KUBECONFIG: h.cp.kubeconfigPath } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

async function token(namespace: string): Promise<ServiceAccountToken> {
  return (await h.getToken(namespace, 'blocked'))!;
}

describe('a Secret write the API server refuses (R1, R2)', () => {
  it('costs one mint, revoked at once; retries dry-run and mint nothing until the cause is removed; then Ready', async () => {
    const entries = Object.entries(mechanisms);
    const sa = (ns: string) => `sa-${ns}`;
    for (const [, m] of entries) await h.createToken(m.namespace, 'blocked', { serviceAccount: sa(m.namespace) });

    for (const [what, m] of entries) {
      const sat = await waitFor(`${what}: SecretRejected`, async () => {
        const s = await token(m.namespace);
        return readyOf(s)?.reason === 'SecretRejected' ? s : undefined;
      });
      expect(readyOf(sat)?.status).toBe('False');
      expect(readyOf(sat)?.message, what).toMatch(/was minted but not stored: the API server refused the Secret/);
      expect(readyOf(sat)?.message, what).toMatch(m.says);
      expect(await calls(m.namespace), `${what}: one mint, revoked`).toEqual({ mints: 1, revokes: 1 });
      expect(h.events.some((e) => e.name === 'blocked' && e.reason === 'SecretRejected')).toBe(true);
    }
    const ours = (t: { serviceAccountId: string }) => t.serviceAccountId.startsWith('sa-refused-');
    expect((await h.liveTokens()).filter(ours), 'nothing live upstream').toEqual([]);

    // The next attempt (30 s of backoff, ±20%) checks the Secret with a dry run and mints nothing.
    for (const [what, m] of entries) {
      const sat = await waitFor(
        `${what}: a second attempt`,
        async () => {
          const s = await token(m.namespace);
          return (s.status?.failureCount ?? 0) >= 2 ? s : undefined;
        },
        60_000,
      );
      expect(sat.status?.lastFailure, what).toContain('checked with a dry run; nothing was minted');
      expect(sat.status?.lastFailure, what).toMatch(m.says);
      expect(Date.parse(sat.status!.nextAttemptAt!) - Date.parse(sat.status!.lastFailureTime!)).toBeGreaterThan(40_000);
      expect(await calls(m.namespace), `${what}: still one mint`).toEqual({ mints: 1, revokes: 1 });
    }

    const blockedUntil = new Map<string, number>();
    for (const [, m] of entries) {
      blockedUntil.set(m.namespace, Date.parse((await token(m.namespace)).status!.nextAttemptAt!));
      await m.remove();
    }
    for (const [what, m] of entries) {
      if (m.afterFix === 'renew') {
        // The runbook: after a fix, kubectl tokensync renew retries at once.
        const renewed = await plugin(['renew', 'blocked', '-n', m.namespace, '--wait', '--timeout', '90s']);
        expect(renewed.code, renewed.stderr).toBe(0);
      } else if (m.afterFix === 'edit') {
        await h.createToken(m.namespace, 'blocked', {
          serviceAccount: sa(m.namespace),
          secret: { labels: { fixed: 'true' } },
        });
      }
      const ready = await waitFor(
        `${what}: Ready after the cause is removed`,
        async () => {
          const s = await token(m.namespace);
          return isReady(s) ? s : undefined;
        },
        120_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify((await token(m.namespace)).status)}`);
      });
      const issuedAt = Date.parse(ready.status!.issuedAt!);
      console.log(
        `${what}: blocked until ${new Date(blockedUntil.get(m.namespace)!).toISOString()}, issued ${ready.status!.issuedAt} after a ${m.afterFix}`,
      );
      if (m.afterFix === 'wait')
        expect(issuedAt, `${what}: issued when the backoff ran out`).toBeGreaterThanOrEqual(
          blockedUntil.get(m.namespace)! - 1000,
        );
      // issuedAt has whole seconds; the backoff had tens of seconds left when the user acted.
      else
        expect(issuedAt, `${what}: issued at once after the ${m.afterFix}`).toBeLessThan(
          blockedUntil.get(m.namespace)! - 5000,
        );
      expect(await calls(m.namespace), `${what}: one more mint, kept`).toEqual({ mints: 2, revokes: 1 });
    }
    expect(await unsettled(h, { include: ours })).toEqual([]);
    expect(await leaks(h)).toEqual([]);
  }, 300_000);

  it('a refused write to the resource itself mints nothing and says WriteRejected; after the fix and a renew, Ready', async () => {
    await h.createToken(JOURNAL_NS, 'blocked', { serviceAccount: `sa-${JOURNAL_NS}` });
    const sat = await waitFor('WriteRejected', async () => {
      const s = await token(JOURNAL_NS);
      return readyOf(s)?.reason === 'WriteRejected' ? s : undefined;
    });
    expect(readyOf(sat)?.status).toBe('False');
    expect(readyOf(sat)?.message).toMatch(/Nothing was minted: the API server refused the write to this resource/);
    expect(readyOf(sat)?.message).toMatch(/no mints recorded in this namespace/);
    expect(Date.parse(sat.status!.nextAttemptAt!) - Date.parse(sat.status!.lastFailureTime!)).toBeGreaterThan(20_000);
    expect(h.events.some((e) => e.name === 'blocked' && e.reason === 'WriteRejected')).toBe(true);
    expect(await calls(JOURNAL_NS)).toEqual({ mints: 0, revokes: 0 });

    await deleteIfPresent(
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/no-mint-journal-here',
    );
    await waitFor('the binding gone', async () => {
      try {
        await kubeRequest(h.kc, {
          method: 'PATCH',
          path: `/apis/tokensync.io/v1alpha1/namespaces/${JOURNAL_NS}/serviceaccounttokens/blocked`,
          query: { dryRun: 'All' },
          body: { metadata: { annotations: { 'tokensync.io/pending-mint': '{}' } } },
          contentType: 'application/merge-patch+json',
        });
        return true;
      } catch {
        return false;
      }
    });
    const renewed = await plugin(['renew', 'blocked', '-n', JOURNAL_NS, '--wait', '--timeout', '90s']);
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(isReady(await token(JOURNAL_NS))).toBe(true);
    expect(await calls(JOURNAL_NS)).toEqual({ mints: 1, revokes: 0 });
  }, 180_000);
});
