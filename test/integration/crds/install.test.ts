// The three CRDs on a real API server: they install and are Established, kubectl shows their printer columns and
// explains their fields, and the control plane's RBAC and identity helper behave like a real cluster's.
import { ApiextensionsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_KINDS } from '../../../src/api/v1alpha1/index.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';

let cp: ControlPlane;
let startMs = 0;

beforeAll(async () => {
  const started = Date.now();
  cp = await startControlPlane();
  startMs = Date.now() - started;
  console.info(`control plane (etcd + kube-apiserver + CRDs) up in ${startMs} ms`);
});
afterAll(async () => {
  await cp?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value) || Date.now() > deadline) return value;
    await sleep(250);
  }
}

describe('control plane', () => {
  it('starts in seconds, not minutes', () => {
    expect(startMs).toBeLessThan(60_000);
  });

  it('serves with the admin kubeconfig and the built kubectl matches the server', async () => {
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await cp.kubectl(['version', '-o', 'json']);
    expect(version.code, version.stderr).toBe(0);
    const parsed = JSON.parse(version.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(parsed.clientVersion.gitVersion.replace(/-.*$/, '')).toBe(
      parsed.serverVersion.gitVersion.replace(/-.*$/, ''),
    );
    const core = (cp.kubeConfig as KubeConfig).makeApiClient(CoreV1Api);
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toContain('default');
  });
});

describe('CRDs', () => {
  it('installs all three and each is Established and served', async () => {
    const api = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const kind of ALL_KINDS) {
      const crd = await api.readCustomResourceDefinition({ name: `${kind.plural}.tokensync.io` });
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      expect(established?.status, kind.kind).toBe('True');
      expect(crd.status?.acceptedNames?.kind).toBe(kind.kind);
      expect(crd.status?.acceptedNames?.shortNames).toEqual(kind.shortNames);
    }
    const resources = await cp.kubectl(['api-resources', '--api-group=tokensync.io', '-o', 'name']);
    expect(resources.stdout.trim().split('\n').sort()).toEqual([
      'clustercredentialsproviders.tokensync.io',
      'credentialsproviders.tokensync.io',
      'serviceaccounttokens.tokensync.io',
    ]);
  });

  it('shows the printer columns in kubectl get sat -o wide, with status values', async () => {
    const create = await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'tokensync.io/v1alpha1',
        kind: 'ServiceAccountToken',
        metadata: { name: 'columns', namespace: 'default' },
        spec: { providerRef: { name: 'reference' }, serviceAccount: 'ci-bot', lifetime: '1h' },
      }),
    });
    expect(create.code, create.stderr).toBe(0);
    const status = {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Issued',
            message: 'token minted',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
        secretName: 'columns-secret',
        expiresAt: '2099-01-01T00:00:00Z',
        renewalTime: '2098-12-31T00:00:00Z',
        revision: 3,
      },
    };
    const patch = await cp.kubectl([
      'patch',
      'sat',
      'columns',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    expect(patch.code, patch.stderr).toBe(0);

    const wide = await cp.kubectl(['get', 'sat', '-o', 'wide']);
    expect(wide.code, wide.stderr).toBe(0);
    const [header, row] = wide.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    expect(header).toEqual(['NAME', 'READY', 'SECRET', 'EXPIRES', 'RENEWS', 'REASON', 'PROVIDER', 'REVISION', 'AGE']);
    expect(row?.slice(0, 3)).toEqual(['columns', 'True', 'columns-secret']);
    expect(row?.slice(5, 8)).toEqual(['Issued', 'reference', '3']);

    // Without -o wide the priority-1 columns are hidden.
    const narrow = await cp.kubectl(['get', 'serviceaccounttokens']);
    expect(narrow.stdout.split('\n')[0]!.trim().split(/\s+/)).toEqual([
      'NAME',
      'READY',
      'SECRET',
      'EXPIRES',
      'RENEWS',
      'AGE',
    ]);

    const providers = await cp.kubectl(['get', 'cp,ccp', '-A', '-o', 'wide']);
    expect(providers.code, providers.stderr).toBe(0);
  });

  it('kubectl explain prints the field descriptions from the zod schemas', async () => {
    // The OpenAPI v3 document of a new CRD is published a moment after it is Established.
    const explain = await eventually(
      () => cp.kubectl(['explain', 'sat.spec.renewBefore']),
      (r) => r.code === 0,
    );
    expect(explain.code, explain.stderr).toBe(0);
    // kubectl wraps long descriptions: compare with whitespace collapsed.
    const text = (s: string) => s.replace(/\s+/g, ' ');
    expect(text(explain.stdout)).toContain('KIND: ServiceAccountToken');
    expect(text(explain.stdout)).toContain(
      'Renew this long before expiry. Mutually exclusive with renewBeforePercentage.',
    );

    const providerType = await cp.kubectl(['explain', 'credentialsprovider.spec.type']);
    expect(text(providerType.stdout)).toContain('Which credentials API to call');
    const selector = await cp.kubectl(['explain', 'ccp.spec.namespaceSelector']);
    expect(text(selector.stdout)).toContain('Namespaces whose ServiceAccountTokens may use this provider');
  });
});

describe('RBAC and client-certificate users', () => {
  it('forbids a new user to list Secrets until a Role grants it', async () => {
    const kubeconfig = await cp.createUser('alice', ['tokensync:testers']);
    const whoami = await cp.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig });
    expect(whoami.code, whoami.stderr).toBe(0);
    const user = JSON.parse(whoami.stdout).status.userInfo as { username: string; groups: string[] };
    expect(user.username).toBe('alice');
    expect(user.groups).toContain('tokensync:testers');

    const denied = await cp.kubectl(['get', 'secrets', '-n', 'default'], { kubeconfig });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('User "alice" cannot list resource "secrets"');

    for (const args of [
      ['create', 'role', 'secret-reader', '-n', 'default', '--verb=get,list,watch', '--resource=secrets'],
      ['create', 'rolebinding', 'alice-reads-secrets', '-n', 'default', '--role=secret-reader', '--user=alice'],
    ]) {
      const r = await cp.kubectl(args);
      expect(r.code, r.stderr).toBe(0);
    }
    const allowed = await eventually(
      () => cp.kubectl(['get', 'secrets', '-n', 'default'], { kubeconfig }),
      (r) => r.code === 0,
      10_000,
    );
    expect(allowed.code, allowed.stderr).toBe(0);
    // Only in that namespace, and only reading.
    const otherNamespace = await cp.kubectl(['get', 'secrets', '-n', 'kube-system'], { kubeconfig });
    expect(otherNamespace.code).not.toBe(0);
    const write = await cp.kubectl(['create', 'secret', 'generic', 'x', '-n', 'default', '--from-literal=a=b'], {
      kubeconfig,
    });
    expect(write.stderr).toContain('cannot create resource "secrets"');
  });

  it('also works through @kubernetes/client-node with the user kubeconfig', async () => {
    const { KubeConfig: Config } = await import('@kubernetes/client-node');
    const kc = new Config();
    kc.loadFromFile(await cp.createUser('bob'));
    const core = kc.makeApiClient(CoreV1Api);
    await expect(core.listNamespacedSecret({ namespace: 'default' })).rejects.toMatchObject({ code: 403 });
  });
});
