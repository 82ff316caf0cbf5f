import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/credentials-api.ts';

/** Runs the CLI in-process until it prints its admin-key line, then hands over the output and a stop function. */
async function startCli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const errors: string[] = [];
  const controller = new AbortController();
  let ready!: () => void;
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const exit = run(['--log-level', 'warn', ...argv], {
    env,
    signal: controller.signal,
    stdout: (line) => {
      lines.push(line);
      if (line.startsWith('admin key:')) ready();
    },
    stderr: (line) => errors.push(line),
  });
  await Promise.race([started, exit.then((code) => Promise.reject(new Error(`exited ${code}: ${errors.join()}`)))]);
  const url = /listening on (\S+)/.exec(lines[0] ?? '')?.[1] ?? '';
  return {
    lines,
    url,
    async stop() {
      controller.abort();
      return exit;
    },
  };
}

async function statusOf(url: string, key: string) {
  const res = await request(`${url}/api/v1/auth/service-accounts`, { headers: { authorization: `Bearer ${key}` } });
  await res.body.dump();
  return res.statusCode;
}

function capture() {
  const out: string[] = [];
  return { out, io: { env: {}, stdout: (l: string) => out.push(l), stderr: (l: string) => out.push(l) } };
}

describe('tokensync credentials-api CLI', () => {
  it('--help documents every flag and exits 0', async () => {
    const { out, io } = capture();
    expect(await run(['--help'], io)).toBe(0);
    const help = out.join('\n');
    for (const flag of [
      '--listen',
      '--admin-key ',
      '--admin-key-file',
      '--keys-file',
      '--data-file',
      '--rate-limit',
      '--burst',
      'auto-create-service-accounts',
      '--fault-seed',
      '--log-level',
      'TOKENSYNC_ADMIN_KEY',
      'TOKENSYNC_ADMIN_KEY_FILE',
      'PORT',
    ]) {
      expect(help).toContain(flag);
    }
  });

  it.each([
    [['--bogus']],
    [['positional']],
    [['--listen', 'nonsense']],
    [['--listen', '127.0.0.1:99999']],
    [['--rate-limit', '-1']],
    [['--burst', '0']],
    [['--log-level', 'loud']],
    [['--admin-key', 'short']],
    [['--admin-key', 'long-enough-key', '--admin-key-file', '/nonexistent']],
    [['--admin-key-file', '/nonexistent/key']],
  ])('rejects %j with exit code 2', async (argv) => {
    const { out, io } = capture();
    expect(await run(argv, io)).toBe(2);
    expect(out.join('\n')).toMatch(/tokensync credentials-api: /);
  });

  it('serves with a generated admin key, prints it once, and stops on signal with exit 0', async () => {
    const cli = await startCli(['--listen', '127.0.0.1:0']);
    expect(cli.lines[0]).toMatch(/^tokensync credentials-api listening on http:\/\/127\.0\.0\.1:\d+$/);
    const key = /^admin key: (rsa_admin_\S+)$/.exec(cli.lines[1] ?? '')?.[1];
    expect(key).toBeDefined();
    expect(await statusOf(cli.url, key!)).toBe(200);
    expect(await cli.stop()).toBe(0);
    await expect(statusOf(cli.url, key!)).rejects.toThrow();
  });

  it('takes the admin key from TOKENSYNC_ADMIN_KEY and PORT from the environment, without printing the key', async () => {
    const cli = await startCli([], { TOKENSYNC_ADMIN_KEY: 'env-admin-key-123', PORT: '0' });
    try {
      expect(cli.lines.join('\n')).not.toContain('env-admin-key-123');
      expect(cli.lines[1]).toBe('admin key: (from TOKENSYNC_ADMIN_KEY)');
      expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await statusOf(cli.url, 'env-admin-key-123')).toBe(200);
    } finally {
      await cli.stop();
    }
  });

  it('reads the admin key and group keys from files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'credentials-api-cli-'));
    try {
      await writeFile(join(dir, 'admin'), 'file-admin-key-123\n');
      await writeFile(join(dir, 'keys.json'), JSON.stringify([{ key: 'group-key-123', groups: ['eng'] }]));
      const cli = await startCli([
        '--listen',
        '127.0.0.1:0',
        '--admin-key-file',
        join(dir, 'admin'),
        '--keys-file',
        join(dir, 'keys.json'),
        '--rate-limit',
        '0',
      ]);
      try {
        expect(await statusOf(cli.url, 'file-admin-key-123')).toBe(200);
        expect(await statusOf(cli.url, 'group-key-123')).toBe(200);
      } finally {
        await cli.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a keys file of the wrong shape without echoing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'credentials-api-cli-'));
    try {
      await writeFile(join(dir, 'keys.json'), JSON.stringify([{ key: 'secret-key-value-1', group: 'eng' }]));
      const { out, io } = capture();
      expect(await run(['--keys-file', join(dir, 'keys.json')], io)).toBe(2);
      expect(out.join('\n')).not.toContain('secret-key-value-1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
