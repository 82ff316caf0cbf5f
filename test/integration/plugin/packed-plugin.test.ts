// The kubectl plugin as a user gets it: `npm pack` of packages/kubectl-tokensync, installed from the tarball into an
// empty directory, run as its own process (and through kubectl's plugin mechanism) against a real API server where
// the controller (as the chart's ServiceAccount) issues tokens from the reference credentials API.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import { LOOPBACK_EGRESS, TEST_EGRESS_ALLOW } from '../../support/egress.ts';
import { REPO_ROOT } from '../../support/paths.ts';
import { Harness, isReady, waitFor } from '../controller/harness.ts';

const h = new Harness();
const NS = 'team-a';
const work = mkdtempSync(join(tmpdir(), 'tokensync-packed-plugin-'));
const app = join(work, 'app');
const bin = join(app, 'node_modules', '.bin');
let tarball: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with the installed plugin and the Node running this test first on PATH, as a user's shell has. */
function exec(file: string, args: string[], options: { cwd?: string; kubeconfig?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [bin, dirname(process.execPath), h.cp?.binDir, process.env['PATH']].filter(Boolean).join(delimiter),
    KUBECONFIG: options.kubeconfig ?? h.cp?.kubeconfigPath ?? '/dev/null',
    NO_COLOR: '1',
  };
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? work, env, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

const plugin = (...args: string[]) => exec(join(bin, 'kubectl-tokensync'), args);
const rows = (table: string) =>
  table
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s{3,}/));
const revisionOf = async (name: string) => (await h.getToken(NS, name))?.status?.revision ?? 0;

beforeAll(async () => {
  // Build the one-file bundle and pack the package exactly as `npm run pack:plugin` does.
  const built = await exec(process.execPath, [join(REPO_ROOT, 'scripts/build-plugin.ts')]);
  expect(built.code, built.stderr).toBe(0);
  const packed = await exec('npm', ['pack', join(REPO_ROOT, 'packages/kubectl-tokensync'), '--pack-destination', work]);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  mkdirSync(app);
  // --offline: the package has no dependencies, so installing it must not need the registry.
  const installed = await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app });
  expect(installed.code, installed.stderr).toBe(0);

  await h.start();
  await h.setupNamespace(NS);
  await h.startController();
  for (const [name, team] of [
    ['reporting', 'payments'],
    ['billing', 'payments'],
    ['etl', 'data'],
  ] as const) {
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: { name, namespace: NS, labels: { team } },
      spec: h.tokenSpec(),
    });
  }
  for (const name of ['reporting', 'billing', 'etl'])
    await waitFor(`${name} Ready`, async () => isReady(await h.getToken(NS, name)));
}, 600_000);

afterAll(async () => {
  await h.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('packs only the bundle, its completion wrapper, package.json and README', async () => {
    const listed = await exec('tar', ['-tzf', tarball]);
    expect(listed.stdout.trim().split('\n').sort()).toEqual([
      'package/README.md',
      'package/dist/kubectl-tokensync.mjs',
      'package/dist/kubectl_complete-tokensync.mjs',
      'package/package.json',
    ]);
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/kubectl-tokensync/package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
  });

  it('installs from the tarball into an empty directory and runs, directly and through npx', async () => {
    const help = await plugin('--help');
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kubectl tokensync <command>/);
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
    expect((await plugin('version')).stdout.trim()).toBe(version);
    const npx = await exec('npx', ['--no', 'kubectl-tokensync', 'version'], { cwd: app });
    expect(npx.code, npx.stderr).toBe(0);
    expect(npx.stdout.trim()).toBe(version);
  });

  it('kubectl finds it: `kubectl tokensync` runs the plugin', async () => {
    const kubectl = join(h.cp.binDir, 'kubectl');
    const list = await exec(kubectl, ['plugin', 'list']);
    expect(list.stdout).toContain(join(bin, 'kubectl-tokensync'));
    const status = await exec(kubectl, ['tokensync', 'status', '-n', NS]);
    expect(status.code, status.stderr).toBe(0);
    expect(rows(status.stdout).map((r) => r[1])).toEqual(['billing', 'etl', 'reporting']);
  });
});

describe('status', () => {
  it('NAME shows one token; -l filters by label; an unknown NAME exits 1 with kubectl-style text', async () => {
    const one = await plugin('status', 'reporting', '-n', NS);
    expect(one.code, one.stderr).toBe(0);
    expect(rows(one.stdout)).toHaveLength(1);
    expect(rows(one.stdout)[0]!.slice(0, 4)).toEqual([NS, 'reporting', 'True', 'reporting']);
    const payments = await plugin('status', '-l', 'team=payments', '-A');
    expect(rows(payments.stdout).map((r) => r[1])).toEqual(['billing', 'reporting']);
    const missing = await plugin('status', 'nope', '-n', NS);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`Error: serviceaccounttoken "nope" not found in namespace "${NS}"\n`);
    const bad = await plugin('status', '-l', 'team in (', '-n', NS);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: .*(unable to parse|found '\(')/);
  });
});

describe('renew', () => {
  it('-l SELECTOR --wait rotates exactly the selected tokens and waits until each is Ready again', async () => {
    const before = {
      reporting: await revisionOf('reporting'),
      billing: await revisionOf('billing'),
      etl: await revisionOf('etl'),
    };
    const r = await plugin('renew', '-l', 'team=payments', '-n', NS, '--wait', '--timeout', '120s');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/ renewed$/gm)).toHaveLength(2);
    expect(await revisionOf('reporting')).toBe(before.reporting + 1);
    expect(await revisionOf('billing')).toBe(before.billing + 1);
    expect(await revisionOf('etl')).toBe(before.etl);
  });

  it('--all -A --wait rotates every token', async () => {
    const before = await Promise.all(['reporting', 'billing', 'etl'].map(revisionOf));
    const r = await plugin('renew', '--all', '-A', '--wait', '--timeout', '120s');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await Promise.all(['reporting', 'billing', 'etl'].map(revisionOf))).toEqual(before.map((n) => n + 1));
  });
});

describe('revoke-orphans', () => {
  it('audits every provider that can list, skips the others by their capabilities, and revokes only leftovers', async () => {
    // A passthrough provider: its adapter cannot list, so it is reported as skipped rather than audited or failed.
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'augment-token', namespace: NS },
      stringData: { token: 'x' },
    });
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: 'augment', namespace: NS },
      spec: {
        type: 'augment',
        augment: { tenantURL: 'https://127.0.0.1:9/' },
        auth: { secretRef: { name: 'augment-token', key: 'token' } },
      },
    });
    const reporting = (await h.getToken(NS, 'reporting')) as ServiceAccountToken;
    const uid8 = reporting.metadata.uid!.replace(/-/g, '').slice(0, 8);
    const minter = createProviderClient(
      {
        type: 'reference',
        url: h.api.url,
        credential: new SecretValue(h.api.adminKey),
        allowInsecureHttp: true,
        rateLimit: { requestsPerSecond: 100, burst: 100 },
        timeoutMs: 5000,
      },
      { egress: LOOPBACK_EGRESS },
    );
    const owner = { namespace: NS, name: 'reporting', uid: reporting.metadata.uid! };
    // A leaked older revision of reporting, a token of a resource that no longer exists, and someone else's token.
    for (const name of [`reporting-${uid8}-r0`, 'gone-ffffffff-r1', 'hand-made']) {
      await minter.issue({
        serviceAccount: 'sa-test',
        name,
        lifetimeSeconds: 3600,
        readOnly: true,
        scopes: [],
        attributes: {},
        owner,
      });
    }
    await minter.close?.();

    const dry = await plugin('revoke-orphans', '-n', NS, '--dry-run', '--egress-allow', TEST_EGRESS_ALLOW.join(','));
    expect(dry.code, dry.stderr).toBe(0);
    expect(rows(dry.stdout)).toEqual([
      [`${NS}/reference`, 'sa-test', `reporting-${uid8}-r0`, `${NS}/reporting`, 'superseded', 'would revoke'],
      [`${NS}/reference`, 'sa-test', 'gone-ffffffff-r1', '-', 'ownerless', 'kept (use --include-ownerless)'],
    ]);
    expect(dry.stderr).toContain(`${NS}/augment: skipped: the augment API cannot list its tokens`);
    expect(dry.stderr).toContain('1 token(s) would be revoked');

    const live = async () => (await h.liveTokens()).map((t) => t.name);
    expect(await live()).toContain(`reporting-${uid8}-r0`);
    const real = await plugin('revoke-orphans', '-n', NS, '--egress-allow', TEST_EGRESS_ALLOW.join(','));
    expect(real.code, real.stderr).toBe(0);
    const after = await live();
    expect(after).not.toContain(`reporting-${uid8}-r0`);
    expect(after).toEqual(expect.arrayContaining(['gone-ffffffff-r1', 'hand-made', reporting.status!.tokenName!]));
  });
});

describe('revoke-orphans without a readable credential', () => {
  it('names the missing management credential Secret and exits 1', async () => {
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } });
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: 'iomete', namespace: 'team-b' },
      spec: { type: 'iomete', url: 'https://127.0.0.1:9', auth: { secretRef: { name: 'absent', key: 'token' } } },
    });
    const r = await plugin('revoke-orphans', '-n', 'team-b', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('team-b/iomete: management credential Secret team-b/absent key "token" not found');
  });
});

describe('completion against the cluster', () => {
  it('__complete offers the token names and namespaces the API server has', async () => {
    const names = await plugin('__complete', 'renew', '-n', NS, 'billing', '');
    expect(names.stdout).toBe('etl\nreporting\n:4\n');
    const namespaces = await plugin('__complete', 'status', '-n', 'team-a');
    expect(namespaces.stdout).toBe(`${NS}\n:4\n`);
  });

  it('kubectl completes `kubectl tokensync` through kubectl_complete-tokensync', async () => {
    const kubectl = join(h.cp.binDir, 'kubectl');
    const commands = await exec(kubectl, ['__complete', 'tokensync', 're']);
    expect(commands.stdout).toMatch(/^renew\t.*\nrevoke-orphans\t.*\n:4\n/);
    const names = await exec(kubectl, ['__complete', 'tokensync', 'status', '-n', NS, 'r']);
    expect(names.stdout.split('\n')[0]).toBe('reporting');
  });
});

describe('renew without a controller', () => {
  it('--wait gives up after --timeout with the reason and exit 1', async () => {
    await h.stopController();
    const r = await plugin('renew', 'etl', '-n', NS, '--wait', '--timeout', '2s');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      `timed out after 2s waiting for ${NS}/etl: the controller has not picked up the request yet`,
    );
  });
});
