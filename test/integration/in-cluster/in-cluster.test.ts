// The built controller (dist/cli/main.js, what the image runs) started the way a pod starts it: no kubeconfig, the
// ServiceAccount token, CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount/ laid out as kubelet's
// projected volume does (..data symlink swapped atomically on rotation), KUBERNETES_SERVICE_HOST/PORT set, the
// chart's arguments and the chart's RBAC. The files are placed in a private mount namespace (unshare -m: a tmpfs over
// /run, the test's directory bind-mounted at the standard path), so the machine's own /run is never touched.
//
// Rotation: a second TokenRequest token is swapped in, the controller's requests switch to it (seen in the audit log
// by the token's JTI), the first token is revoked (its bound Secret deleted) and the controller keeps working.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../../../src/kube/client.ts';
import { helmTemplate, RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import { TEST_EGRESS_ALLOW } from '../../support/egress.ts';
import { REPO_ROOT } from '../../support/paths.ts';
import { Harness, isReady, waitFor } from '../controller/harness.ts';

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const SA_USER = `system:serviceaccount:${RELEASE_NAMESPACE}:tokensync`;
const NS = 'apps';

function run(file: string, args: string[], options: { cwd?: string } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file, args, { cwd: options.cwd, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Why a private mount namespace cannot be made here, or undefined when it can. */
async function mountNamespaceProblem(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `private mount namespaces are Linux-only (this is ${process.platform})`;
  const probe = await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /run']);
  if (probe.code !== 0)
    return `unshare -m with a tmpfs mount failed (needs root or CAP_SYS_ADMIN): ${probe.stderr.trim()}`;
  return undefined;
}

const problem = await mountNamespaceProblem();
if (problem) console.log(`[in-cluster] SKIPPED: ${problem}`);

/** kubelet's projected-volume layout: files are symlinks through ..data, which is replaced atomically on update. */
class ProjectedVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'tokensync-sa-'));
  #generation = 0;

  write(files: Record<string, string>): void {
    const version = `..${Date.now()}_${++this.#generation}`;
    mkdirSync(join(this.dir, version));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, version, name), content);
    const tmp = join(this.dir, '..data_tmp');
    symlinkSync(version, tmp);
    renameSync(tmp, join(this.dir, '..data')); // the atomic swap
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch {
        // already links through ..data
      }
    }
  }
}

const h = new Harness();
const volume = new ProjectedVolume();
let controller: ChildProcess | undefined;
const output: string[] = [];

interface MintedToken {
  token: string;
  jti: string;
  holder: string;
}

/** A TokenRequest token for the chart's ServiceAccount, bound to a Secret: deleting the Secret revokes the token. */
async function mintBoundToken(holder: string): Promise<MintedToken> {
  const secret = await kubeRequest<{ metadata: { uid: string } }>(h.kc, {
    method: 'POST',
    path: `/api/v1/namespaces/${RELEASE_NAMESPACE}/secrets`,
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: holder } },
  });
  const response = await kubeRequest<{ status: { token: string } }>(h.kc, {
    method: 'POST',
    path: `/api/v1/namespaces/${RELEASE_NAMESPACE}/serviceaccounts/tokensync/token`,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        expirationSeconds: 3600,
        boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: holder, uid: secret.metadata.uid },
      },
    },
  });
  const token = response.status.token;
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
  return { token, jti: claims.jti, holder };
}

/** JTIs of the tokens the controller's writes were authenticated with, in order (audit log, credential-id). */
function controllerJtis(): string[] {
  return h.cp
    .auditEvents()
    .filter((e) => e.user.username === SA_USER)
    .map(
      (e) =>
        (e.user as { extra?: Record<string, string[]> }).extra?.['authentication.kubernetes.io/credential-id']?.[0],
    )
    .filter((id): id is string => Boolean(id))
    .map((id) => id.replace(/^JTI=/, ''));
}

let agent: Agent | undefined;

/** The HTTP status of a SelfSubjectReview (which any authenticated identity may create) with this bearer token. */
async function authenticate(token: string): Promise<number> {
  agent ??= new Agent({ connect: { ca: readFileSync(join(h.cp.dir, 'ca.crt')) } });
  const res = await request(`${h.cp.server}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    dispatcher: agent,
  });
  await res.body.dump();
  return res.statusCode;
}

describe.skipIf(problem !== undefined)('the built controller in a pod-like environment', () => {
  let first: MintedToken;

  beforeAll(async () => {
    // What the image runs: tsc's output, not the TypeScript sources.
    const built = await run(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: REPO_ROOT,
      },
    );
    expect(built.code, built.stdout + built.stderr).toBe(0);
    await h.start({ auditWrites: true }); // also applies the chart's ServiceAccount and RBAC
    await h.setupNamespace(NS);
    first = await mintBoundToken('token-holder-1');
    volume.write({
      token: first.token,
      'ca.crt': readFileSync(join(h.cp.dir, 'ca.crt'), 'utf8'),
      namespace: RELEASE_NAMESPACE,
    });

    const deployment = (await helmTemplate(h.cp)).find((o) => o['kind'] === 'Deployment') as {
      spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
    };
    const args = [
      ...deployment.spec.template.spec.containers[0]!.args,
      // Last flag wins: free loopback ports instead of :8080/:8081 on a shared machine.
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--log-level=debug', // every refused request shows up in the output the test reads
      `--egress-allow=${TEST_EGRESS_ALLOW.join(',')}`, // the reference credentials API listens on loopback
    ];
    const port = new URL(h.cp.server).port;
    const home = mkdtempSync(join(tmpdir(), 'tokensync-home-'));
    const { KUBECONFIG: _kubeconfig, ...env } = process.env;
    const script = `mount -t tmpfs tmpfs /run && mkdir -p ${SA_PATH} && mount --bind "$SA_DIR" ${SA_PATH} && exec "$NODE" --max-semi-space-size=2 --optimize-for-size dist/cli/main.js "$@"`;
    controller = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ...args], {
      cwd: REPO_ROOT,
      env: {
        ...env,
        HOME: home, // no ~/.kube/config to fall back on
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: port,
        POD_NAMESPACE: RELEASE_NAMESPACE,
        POD_NAME: 'tokensync-in-cluster-test',
        SA_DIR: volume.dir,
        NODE: process.execPath,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    controller.stdout!.on('data', collect);
    controller.stderr!.on('data', collect);
    await waitFor(
      'the controller to become leader',
      async () => {
        if (controller!.exitCode !== null)
          throw new Error(`controller exited ${controller!.exitCode}:\n${output.join('\n')}`);
        return output.some((l) => l.includes('became leader'));
      },
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${output.slice(-30).join('\n')}`);
    });
  }, 300_000);

  afterAll(async () => {
    if (controller && controller.exitCode === null) {
      controller.kill('SIGTERM');
      await new Promise((r) => controller!.once('exit', r));
    }
    await agent?.close();
    await h.stop();
    rmSync(volume.dir, { recursive: true, force: true });
  });

  it('authenticates with the mounted token (no kubeconfig) and issues a token into a Secret', async () => {
    await h.createToken(NS, 'first');
    await waitFor('first Ready', async () => isReady(await h.getToken(NS, 'first')), 60_000);
    expect(await h.getSecretData(NS, 'first')).toHaveProperty('token');
    expect(new Set(controllerJtis())).toEqual(new Set([first.jti]));
    expect(output.join('\n')).toContain('"msg":"starting"');
  });

  it('picks up a rotated token, and keeps working after the old one is revoked', async () => {
    const second = await mintBoundToken('token-holder-2');
    volume.write({
      token: second.token,
      'ca.crt': readFileSync(join(h.cp.dir, 'ca.crt'), 'utf8'),
      namespace: RELEASE_NAMESPACE,
    });
    // Lease renewals (every retryPeriod) are writes: the controller's next token read shows up as the new JTI.
    // client-node re-reads the token file at most every 60 s, like client-go.
    await waitFor(
      'the controller to write with the rotated token',
      async () => controllerJtis().at(-1) === second.jti,
      150_000,
    );

    const fromRevocation = output.length;
    await kubeRequest(h.kc, {
      method: 'DELETE',
      path: `/api/v1/namespaces/${RELEASE_NAMESPACE}/secrets/${first.holder}`,
    });
    await waitFor('the first token to be rejected', async () => (await authenticate(first.token)) === 401, 30_000);
    expect(await authenticate(second.token)).toBe(201);

    const writesBefore = controllerJtis().length;
    await h.createToken(NS, 'after-rotation');
    await waitFor('after-rotation Ready', async () => isReady(await h.getToken(NS, 'after-rotation')), 60_000);
    expect(await h.getSecretData(NS, 'after-rotation')).toHaveProperty('token');
    expect(
      controllerJtis()
        .slice(writesBefore)
        .every((jti) => jti === second.jti),
    ).toBe(true);
    expect(controller!.exitCode).toBeNull();
    // Not one request of the controller was refused for its credentials after the old token died.
    expect(output.slice(fromRevocation).filter((l) => /Unauthorized|\b401\b/.test(l))).toEqual([]);
  }, 300_000);
});
