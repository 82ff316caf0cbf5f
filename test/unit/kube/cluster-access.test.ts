// The controller's own connection loader (client.ts loadClusterAccess): static kubeconfig files are read without
// @kubernetes/client-node, anything else goes to client-node, and the controller's modules never load client-node.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeRequest, loadClusterAccess } from '../../../src/kube/client.ts';
import { REPO_ROOT } from '../../support/paths.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A loopback server answering every request with {} and recording the Authorization header. */
async function recordingServer(): Promise<{ url: string; auth: Array<string | undefined> }> {
  const auth: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    auth.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"kind":"Status"}');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth };
}

function kubeconfigFile(server: string, user: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokensync-kc-'));
  writeFileSync(join(dir, 'token'), 'from-file\n');
  const path = join(dir, 'config');
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster:
      server: ${server}/
contexts:
  - name: ctx
    context: { cluster: c, user: u, namespace: team-a }
current-context: ctx
users:
  - name: u
    user:
${user}
`,
  );
  return path;
}

describe('loadClusterAccess', () => {
  it('reads a kubeconfig with a static token itself, and sends the token', async () => {
    const server = await recordingServer();
    const kc = await loadClusterAccess({ kubeconfig: kubeconfigFile(server.url, '      token: static-token') });
    expect('prepare' in kc && kc.server).toBe(server.url);
    expect('prepare' in kc && kc.namespace).toBe('team-a');
    await kubeRequest(kc, { method: 'GET', path: '/api' });
    expect(server.auth).toEqual(['Bearer static-token']);
  });

  it('reads a tokenFile relative to the kubeconfig', async () => {
    const server = await recordingServer();
    const kc = await loadClusterAccess({ kubeconfig: kubeconfigFile(server.url, '      tokenFile: token') });
    await kubeRequest(kc, { method: 'GET', path: '/api' });
    expect(server.auth).toEqual(['Bearer from-file']);
  });

  it('hands exec plugins (and anything else it does not read) to client-node', async () => {
    const server = await recordingServer();
    const exec = '      exec:\n        apiVersion: client.authentication.k8s.io/v1\n        command: /bin/false';
    const kc = await loadClusterAccess({ kubeconfig: kubeconfigFile(server.url, exec) });
    expect('prepare' in kc).toBe(false);
    expect('getCurrentCluster' in kc && kc.getCurrentCluster()?.server).toBe(server.url);
  });
});

describe('the controller process', () => {
  it('does not load @kubernetes/client-node without --leader-elect and with a static kubeconfig', () => {
    // Records every module the controller's entry point resolves, through Node's synchronous module hooks.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
      await import(${JSON.stringify(join(REPO_ROOT, 'src/cli/controller.ts'))});
      console.log(JSON.stringify(loaded));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const loaded = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as string[];
    expect(loaded.some((u) => u.includes('/src/kube/informer.ts'))).toBe(true);
    expect(loaded.filter((u) => u.includes('@kubernetes/client-node'))).toEqual([]);
  });
});
