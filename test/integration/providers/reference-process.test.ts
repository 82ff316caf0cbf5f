// The reference and iomete adapters against the reference credentials API running as its own process
// (`tokensync credentials-api`), the way the demo and the chart's sample deployment run it, including a SIGKILL
// of the server with a data file: minted tokens survive, revoked ones stay revoked.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderClient } from '../../../src/providers/registry.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { IssueRequest, ProviderClient } from '../../../src/providers/types.ts';
import { LOOPBACK_EGRESS } from '../../support/egress.ts';
import { REPO_ROOT } from '../../support/paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'tokensync-refproc-'));
const dataFile = join(dir, 'state.json');
const adminKey = `test-admin-${process.pid}`;
let server: ChildProcess | undefined;
let url = '';

async function startServer(listen = '127.0.0.1:0'): Promise<void> {
  server = spawn(
    process.execPath,
    [join(REPO_ROOT, 'src/cli/main.ts'), 'credentials-api', '--listen', listen, '--data-file', dataFile],
    {
      env: { ...process.env, TOKENSYNC_ADMIN_KEY: adminKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`credentials-api did not start: ${out}`)), 20_000);
    server!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    server!.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
  });
}

async function killServer(): Promise<void> {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server!.once('exit', r));
  server.kill('SIGKILL');
  await exited;
}

const client = (type: 'reference' | 'iomete', domain?: string): ProviderClient =>
  createProviderClient(
    {
      type,
      url,
      credential: new SecretValue(adminKey),
      allowInsecureHttp: true,
      rateLimit: { requestsPerSecond: 100, burst: 100 },
      timeoutMs: 5000,
      ...(domain ? { iomete: { domain } } : {}),
    },
    { egress: LOOPBACK_EGRESS },
  );

/** Read-only tokens are the reference server's own extension: IOMETE documents no such flag. */
const request = (name: string, readOnly = true): IssueRequest => ({
  serviceAccount: 'sa-process',
  name,
  lifetimeSeconds: 3600,
  readOnly,
  scopes: [],
  attributes: {},
  owner: { namespace: 'ns', name: 'owner', uid: 'uid-1' },
});

async function introspect(value: string): Promise<{ active: boolean; readOnly?: boolean }> {
  const res = await fetch(`${url}/introspect`, { method: 'POST', headers: { authorization: `Bearer ${value}` } });
  return (await res.json()) as { active: boolean };
}

beforeAll(async () => {
  await startServer();
}, 30_000);

afterAll(async () => {
  await killServer();
  rmSync(dir, { recursive: true, force: true });
});

describe('reference credentials API as a process', () => {
  it.each([
    ['reference', undefined],
    ['iomete', undefined],
    ['iomete', 'analytics'],
  ] as const)('the %s adapter (domain %s) mints, finds and revokes real tokens', async (type, domain) => {
    const c = client(type, domain);
    await c.check();
    const name = `${type}-${domain ?? 'admin'}-r1`;
    const readOnly = type === 'reference';
    const issued = await c.issue(request(name, readOnly));
    expect(issued.name).toBe(name);
    expect(await introspect(issued.value.reveal())).toMatchObject({ active: true, readOnly });
    expect(await c.lookup({ name, serviceAccount: 'sa-process' })).toMatchObject({ name, active: true });
    await c.revoke({ id: issued.id, name, serviceAccount: 'sa-process' });
    await c.revoke({ id: issued.id, name, serviceAccount: 'sa-process' }); // 404 counts as done
    expect((await introspect(issued.value.reveal())).active).toBe(false);
    expect(await c.lookup({ name, serviceAccount: 'sa-process' })).toBeUndefined();
  });

  it('keeps live tokens (and only hashes of them) across a SIGKILL of the server', async () => {
    const before = client('reference');
    const kept = await before.issue(request('survivor-r1'));
    const gone = await before.issue(request('revoked-r1'));
    await before.revoke({ id: gone.id, name: 'revoked-r1', serviceAccount: 'sa-process' });
    await killServer();
    expect(readFileSync(dataFile, 'utf8')).not.toContain(kept.value.reveal());
    await startServer();
    expect((await introspect(kept.value.reveal())).active).toBe(true);
    expect((await introspect(gone.value.reveal())).active).toBe(false);
  }, 30_000);
});
