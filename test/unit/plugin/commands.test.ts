// The plugin's commands end to end on loopback: a small fake Kubernetes API (only the paths the plugin calls) and
// the bundled reference credentials API, so status, renew --wait and revoke-orphans run their real wiring.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENEW_ANNOTATION } from '../../../src/api/v1alpha1/index.ts';
import type { Io } from '../../../src/cli/plugin/io.ts';
import { run as renew } from '../../../src/cli/plugin/renew.ts';
import { run as revokeOrphans } from '../../../src/cli/plugin/revoke-orphans.ts';
import { run as status } from '../../../src/cli/plugin/status.ts';
import { type RunningCredentialsApi, startCredentialsApi } from '../../../src/credentials-api/index.ts';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { ProviderClient } from '../../../src/providers/types.ts';
import { LOOPBACK_EGRESS, TEST_EGRESS_ALLOW } from '../../support/egress.ts';

// biome-ignore lint/suspicious/noExplicitAny: loosely typed fake API objects
type Obj = Record<string, any>;
const now = new Date();
const iso = (offsetMs: number) => new Date(now.getTime() + offsetMs).toISOString();
const H = 3_600_000;

const store = {
  sats: new Map<string, Obj>(),
  providers: new Map<string, Obj>(),
  secrets: new Map<string, Obj>(),
  /** Simulated controller: acts on a renew annotation after this many ms (undefined: never). */
  renewDelayMs: 50 as number | undefined,
};

function fakeKube(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const list = (items: Obj[]) => send(200, { items, metadata: {} });
    let m = /^\/apis\/tokensync\.io\/v1alpha1\/(?:namespaces\/([^/]+)\/)?serviceaccounttokens(?:\/([^/]+))?$/.exec(
      url.pathname,
    );
    if (m) {
      const [, ns, name] = m;
      if (!name) return list([...store.sats.values()].filter((s) => !ns || s.metadata.namespace === ns));
      const sat = store.sats.get(`${ns}/${name}`);
      if (!sat) return send(404, { kind: 'Status', message: `serviceaccounttokens "${name}" not found`, code: 404 });
      if (req.method === 'GET') return send(200, sat);
      if (req.method === 'PATCH') {
        expect(req.headers['content-type']).toBe('application/merge-patch+json');
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const patch = JSON.parse(body);
          sat.metadata.annotations = { ...sat.metadata.annotations, ...patch.metadata.annotations };
          const stamp = sat.metadata.annotations[RENEW_ANNOTATION];
          if (store.renewDelayMs !== undefined) {
            setTimeout(() => {
              sat.status = {
                ...sat.status,
                lastRenewRequest: stamp,
                conditions: [{ type: 'Ready', status: 'True', reason: 'Issued', message: '', lastTransitionTime: '' }],
              };
            }, store.renewDelayMs);
          }
          send(200, sat);
        });
        return;
      }
    }
    m =
      /^\/apis\/tokensync\.io\/v1alpha1\/(?:namespaces\/([^/]+)\/)?(credentialsproviders|clustercredentialsproviders)$/.exec(
        url.pathname,
      );
    if (m) {
      const [, ns, plural] = m;
      const kind = plural === 'credentialsproviders' ? 'CredentialsProvider' : 'ClusterCredentialsProvider';
      return list([...store.providers.values()].filter((p) => p.kind === kind && (!ns || p.metadata.namespace === ns)));
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const secret = store.secrets.get(`${m[1]}/${m[2]}`);
      return secret ? send(200, secret) : send(404, { kind: 'Status', message: 'not found', code: 404 });
    }
    send(404, { kind: 'Status', message: `unexpected ${req.method} ${url.pathname}`, code: 404 });
  });
}

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
    isTTY: false,
    env: {},
    now: () => new Date(),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  };
  return io;
}

function sat(namespace: string, name: string, uid: string, status: Obj, spec: Obj = {}): Obj {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { namespace, name, uid, annotations: {} },
    spec: { providerRef: { kind: 'CredentialsProvider', name: 'ref' }, serviceAccount: 'ci-bot', ...spec },
    status,
  };
}

let kube: Server;
let api: RunningCredentialsApi;
let kubeconfig: string;
let minter: ProviderClient;

beforeAll(async () => {
  kube = fakeKube();
  await new Promise<void>((r) => kube.listen(0, '127.0.0.1', r));
  const port = (kube.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-tokensync-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'me', user: { token: 'not-a-real-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'me', namespace: 'team-a' } }],
      'current-context': 'fake',
    }),
  );
  api = await startCredentialsApi({ rateLimit: false });
  minter = createProviderClient(
    {
      type: 'reference',
      url: api.url,
      credential: new SecretValue(api.adminKey),
      allowInsecureHttp: true,
      rateLimit: { requestsPerSecond: 1000, burst: 1000 },
      timeoutMs: 5000,
    },
    { egress: LOOPBACK_EGRESS },
  );
});
afterAll(async () => {
  await minter?.close?.();
  await api?.close();
  await new Promise((r) => kube?.close(r));
});

const ready = (s: 'True' | 'False', reason = 'Issued') => [
  { type: 'Ready', status: s, reason, message: '', lastTransitionTime: '' },
];

describe('status', () => {
  it('prints the table for the context namespace, and all namespaces with -A', async () => {
    store.sats.clear();
    store.sats.set(
      'team-a/reporting',
      sat('team-a', 'reporting', 'u1', {
        conditions: ready('True'),
        secretName: 'reporting-token',
        expiresAt: iso(30 * 24 * H + 60_000),
        renewalTime: iso(20 * 24 * H + 60_000),
      }),
    );
    store.sats.set('team-b/etl', sat('team-b', 'etl', 'u2', { conditions: ready('False', 'UpstreamError') }));
    const io = capture();
    expect(await status(['--kubeconfig', kubeconfig], io)).toBe(0);
    const lines = io.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]!.split(/\s{3,}/)).toEqual([
      'team-a',
      'reporting',
      'True',
      'reporting-token',
      'in 30d',
      'in 20d',
      'Issued',
    ]);
    expect(io.stdout).not.toContain('\x1b[');

    const all = capture();
    expect(await status(['--kubeconfig', kubeconfig, '-A'], all)).toBe(0);
    expect(all.stdout).toContain('team-b');
    expect(all.stdout).toContain('UpstreamError');
  });

  it('colours only on a TTY without NO_COLOR', async () => {
    const tty = capture();
    tty.isTTY = true;
    await status(['--kubeconfig', kubeconfig, '-A'], tty);
    expect(tty.stdout).toContain('\x1b[31m');
    const noColor = capture();
    noColor.isTTY = true;
    noColor.env = { NO_COLOR: '1' };
    await status(['--kubeconfig', kubeconfig, '-A'], noColor);
    expect(noColor.stdout).not.toContain('\x1b[');
  });

  it('rejects -n with -A and stray arguments', async () => {
    await expect(status(['--kubeconfig', kubeconfig, '-n', 'x', '-A'], capture())).rejects.toThrow(/not both/);
    await expect(status(['--kubeconfig', kubeconfig, 'extra'], capture())).rejects.toThrow(/no arguments/);
    await expect(status(['--bogus'], capture())).rejects.toThrow(/bogus/);
  });
});

describe('renew', () => {
  it('sets the annotation and, with --wait, returns once the controller acted on it and Ready is True', async () => {
    store.sats.set('team-a/reporting', sat('team-a', 'reporting', 'u1', { conditions: ready('True') }));
    store.renewDelayMs = 300;
    const io = capture();
    expect(
      await renew(['reporting', '-n', 'team-a', '--kubeconfig', kubeconfig, '--wait', '--timeout', '10s'], io),
    ).toBe(0);
    const stamp = store.sats.get('team-a/reporting')!.metadata.annotations[RENEW_ANNOTATION];
    expect(Date.parse(stamp)).not.toBeNaN();
    expect(store.sats.get('team-a/reporting')!.status.lastRenewRequest).toBe(stamp);
    expect(io.stdout).toContain('renewed');
  });

  it('times out with the reason when the controller does not act', async () => {
    store.renewDelayMs = undefined;
    const io = capture();
    expect(await renew(['reporting', '--kubeconfig', kubeconfig, '--wait', '--timeout', '600ms'], io)).toBe(1);
    expect(io.stderr).toMatch(/timed out after 600ms waiting for team-a\/reporting: the controller has not picked up/);
  });

  it('fails on a missing resource', async () => {
    await expect(renew(['missing', '--kubeconfig', kubeconfig], capture())).rejects.toMatchObject({ code: 404 });
  });
});

describe('revoke-orphans against the reference credentials API', () => {
  it('lists, then revokes, tokens that no resource holds; keeps current, retiring and foreign tokens', async () => {
    const uid = '0a1b2c3d-0000-4000-8000-000000000001';
    const owner = { namespace: 'team-a', name: 'reporting', uid };
    const mint = async (name: string) =>
      minter.issue({
        serviceAccount: 'ci-bot',
        name,
        lifetimeSeconds: 3600,
        readOnly: true,
        scopes: [],
        attributes: {},
        owner,
      });
    for (const name of [
      'reporting-0a1b2c3d-r1',
      'reporting-0a1b2c3d-r2',
      'reporting-0a1b2c3d-r3',
      'reporting-0a1b2c3d-r4',
      'hand-made',
      'deleted-ffffffff-r1',
    ]) {
      await mint(name);
    }
    store.sats.clear();
    store.sats.set(
      'team-a/reporting',
      sat('team-a', 'reporting', uid, {
        conditions: ready('True'),
        revision: 4,
        tokenId: 'reporting-0a1b2c3d-r4',
        tokenName: 'reporting-0a1b2c3d-r4',
        retiring: [{ tokenId: 'reporting-0a1b2c3d-r3', name: 'reporting-0a1b2c3d-r3', revokeAt: iso(60_000) }],
      }),
    );
    store.providers.set('team-a/ref', {
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { namespace: 'team-a', name: 'ref' },
      spec: {
        type: 'reference',
        url: api.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'admin', key: 'apiKey' } },
      },
    });
    store.secrets.set('team-a/admin', {
      data: { apiKey: Buffer.from(api.adminKey).toString('base64') },
    });

    // Without an allow, the provider's loopback URL is refused like any tenant-chosen address.
    const refused = capture();
    expect(await revokeOrphans(['--kubeconfig', kubeconfig, '--dry-run'], refused)).toBe(1);
    expect(refused.stderr).toContain('reference list: egress denied: 127.0.0.1 (the address in spec.url)');

    const allow = ['--egress-allow', TEST_EGRESS_ALLOW.join(',')];
    const dry = capture();
    expect(await revokeOrphans(['--kubeconfig', kubeconfig, '--dry-run', ...allow], dry)).toBe(0);
    const rows = dry.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s{3,}/));
    expect(rows).toEqual([
      ['team-a/ref', 'ci-bot', 'reporting-0a1b2c3d-r1', 'team-a/reporting', 'superseded', 'would revoke'],
      ['team-a/ref', 'ci-bot', 'reporting-0a1b2c3d-r2', 'team-a/reporting', 'superseded', 'would revoke'],
      ['team-a/ref', 'ci-bot', 'deleted-ffffffff-r1', '-', 'ownerless', 'kept (use --include-ownerless)'],
    ]);
    expect(dry.stderr).toContain('2 token(s) would be revoked');
    const activeNames = async () =>
      (await minter.list('ci-bot'))
        .filter((t) => t.active)
        .map((t) => t.name)
        .sort();
    expect(await activeNames()).toHaveLength(6);

    const real = capture();
    expect(await revokeOrphans(['--kubeconfig', kubeconfig, ...allow], real)).toBe(0);
    expect(real.stdout.match(/revoked/g)).toHaveLength(2);
    expect(await activeNames()).toEqual([
      'deleted-ffffffff-r1',
      'hand-made',
      'reporting-0a1b2c3d-r3',
      'reporting-0a1b2c3d-r4',
    ]);

    const again = capture();
    expect(await revokeOrphans(['--kubeconfig', kubeconfig, '--include-ownerless', ...allow], again)).toBe(0);
    expect(await activeNames()).toEqual(['hand-made', 'reporting-0a1b2c3d-r3', 'reporting-0a1b2c3d-r4']);
  });

  it('refuses a malformed --egress-allow entry as a usage error', async () => {
    await expect(revokeOrphans(['--kubeconfig', kubeconfig, '--egress-allow', 'https://x'], capture())).rejects.toThrow(
      /--egress-allow: "https:\/\/x" is neither/,
    );
  });

  it('reports a missing management credential and exits 1', async () => {
    store.secrets.clear();
    const io = capture();
    expect(await revokeOrphans(['--kubeconfig', kubeconfig, '--dry-run'], io)).toBe(1);
    expect(io.stderr).toContain('management credential Secret team-a/admin key apiKey not found');
  });
});
