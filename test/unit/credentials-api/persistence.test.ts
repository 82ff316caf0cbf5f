import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCredentialsApi } from '../../../src/credentials-api/index.ts';
import { CoalescingWriter, writeFileAtomic } from '../../../src/credentials-api/persistence.ts';
import { startTestApi, type TestApi } from './helpers.ts';

let dir: string;
let dataFile: string;
let t: TestApi | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'credentials-api-'));
  dataFile = join(dir, 'state.json');
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('persistence across restart', () => {
  it('a token minted before a restart still introspects active after it; the file holds no value', async () => {
    const adminKey = 'persisted-admin-key';
    t = await startTestApi({ dataFile, adminKey });
    await t.call('POST', '/api/v1/auth/service-accounts', { body: { id: 'grouped', groups: ['eng'] } });
    const kept = await t.mint('sa-1', { name: 'kept', scopes: ['s'], description: 'survives' });
    const revoked = await t.mint('sa-1', { name: 'revoked' });
    await t.call('DELETE', `${t.tokens('sa-1')}/revoked`);
    await t.close();

    const file = await readFile(dataFile, 'utf8');
    expect(file).not.toContain(kept.token);
    expect(file).not.toContain(revoked.token);
    expect(file).not.toContain('rsa_live_');
    expect(file).not.toContain(adminKey);
    expect(file).not.toContain('"revoked"');
    expect((await stat(dataFile)).mode & 0o777).toBe(0o600);

    t = await startTestApi({ dataFile, adminKey });
    expect((await t.introspect(kept.token)).json).toMatchObject({ active: true, name: 'kept', scopes: ['s'] });
    expect((await t.introspect(revoked.token)).json.active).toBe(false);
    expect((await t.call('GET', `${t.tokens('sa-1')}/kept`)).json.description).toBe('survives');
    expect((await t.call('GET', '/api/v1/auth/service-accounts/grouped')).json.groups).toEqual(['eng']);
    // The name is still taken after the restart.
    expect((await t.call('POST', t.tokens('sa-1'), { body: { name: 'kept' } })).status).toBe(409);
  });

  it('persists suspension and lastUsedAt', async () => {
    t = await startTestApi({ dataFile });
    const used = await t.mint('sa-1', { name: 'used' });
    await t.mint('sa-1', { name: 'sus' });
    await t.introspect(used.token);
    await t.call('PATCH', `${t.tokens('sa-1')}/sus`, { body: { status: 'SUSPENDED' } });
    await t.close();
    t = await startTestApi({ dataFile });
    const list = (await t.call('GET', t.tokens('sa-1'))).json;
    expect(list[0].lastUsedAt).not.toBeNull();
    expect(list[1].status).toBe('SUSPENDED');
  });

  it('creates the file on the first change and leaves no temp files behind', async () => {
    t = await startTestApi({ dataFile });
    expect(await readdir(dir)).toEqual([]);
    await Promise.all(Array.from({ length: 20 }, (_, i) => t!.mint('sa-1', { name: `n${i}` })));
    expect(await readdir(dir)).toEqual(['state.json']);
    const state = JSON.parse(await readFile(dataFile, 'utf8'));
    expect(state.tokens).toHaveLength(20);
    expect(state.tokens[0].hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses to start on a corrupt data file instead of silently resetting it', async () => {
    await writeFile(dataFile, '{"version": 1, "serviceAcc');
    await expect(startCredentialsApi({ dataFile })).rejects.toThrow(/not valid JSON/);
    await writeFile(dataFile, '{"version": 2}');
    await expect(startCredentialsApi({ dataFile })).rejects.toThrow(/unexpected shape/);
  });
});

describe('atomic writes', () => {
  it('replaces the file whole', async () => {
    await writeFileAtomic(dataFile, 'first');
    await writeFileAtomic(dataFile, 'second');
    expect(await readFile(dataFile, 'utf8')).toBe('second');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('cleans up its temp file when the rename fails', async () => {
    const target = join(dir, 'a-directory');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(target, 'child'), { recursive: true }));
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['a-directory']);
  });
});

describe('CoalescingWriter', () => {
  it('serialises writes and coalesces requests made during a write into one follow-up', async () => {
    let writes = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const writer = new CoalescingWriter(async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((resolve) => setTimeout(resolve, 20));
      writes++;
      concurrent--;
    });
    const first = writer.request();
    const rest = Array.from({ length: 10 }, () => writer.request());
    await Promise.all([first, ...rest]);
    expect(writes).toBe(2);
    expect(maxConcurrent).toBe(1);
    await writer.request();
    expect(writes).toBe(3);
    await writer.idle();
  });

  it('reports a failed write to its callers and recovers for the next one', async () => {
    let fail = true;
    const writer = new CoalescingWriter(async () => {
      if (fail) throw new Error('disk full');
    });
    await expect(writer.request()).rejects.toThrow('disk full');
    fail = false;
    await expect(writer.request()).resolves.toBeUndefined();
  });
});
