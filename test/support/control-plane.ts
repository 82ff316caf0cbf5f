// A real, throwaway Kubernetes control plane for tests and demos: etcd + kube-apiserver (+ optionally
// kube-controller-manager) built from Go modules by scripts/control-plane-build.sh. Modelled on controller-runtime's
// envtest: loopback only, free ports, a fresh CA per instance, RBAC on, data in a temp dir that stop() removes.
//
// Used by the integration tests (one control plane per test file) and by scripts/control-plane.ts (the demo).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

import { REPO_ROOT } from './paths.ts';

export { REPO_ROOT };

export interface StartOptions {
  /** Also run kube-controller-manager (garbage collection of ownerReferences, namespace deletion, SA tokens). */
  controllerManager?: boolean;
  /**
   * More kube-controller-manager controllers besides those, e.g. ["deployment", "replicaset"] for Deployments that
   * create ReplicaSets and Pods (no scheduler or kubelet: the Pods stay unscheduled until a test plays the kubelet).
   */
  controllers?: string[];
  /** Apply crds/*.yaml and wait until each CRD is Established. Default true. */
  crds?: boolean;
  /** Log every write (create/update/patch/delete) as one JSON line to auditLogPath, for tests that count writes. */
  auditWrites?: boolean;
  /** Also log every request (reads and watches included) of these users: for tests of what an identity uses. */
  auditUsers?: string[];
  /** Admission plugins to enable besides the defaults, e.g. OwnerReferencesPermissionEnforcement. */
  admissionPlugins?: string[];
  /** etcd's --quota-backend-bytes. Default 1 GiB; the 100,000-token benchmark needs more. */
  etcdQuotaBytes?: number;
  /** Directory with etcd, kube-apiserver, kube-controller-manager and kubectl. Default: $TOKENSYNC_KUBE_BIN, else
   * the output of scripts/control-plane-build.sh (instant when the binaries are cached). */
  binDir?: string;
  /** Working directory (certs, etcd data, logs, kubeconfig). Default: a new temp dir, removed by stop(). An explicit
   * dir is kept by stop() so a human can look at it. */
  dir?: string;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** One audit event as kube-apiserver writes it (audit.k8s.io/v1 Event, the fields tests use). */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  stage: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  [key: string]: unknown;
}

export interface ControlPlane {
  /** https://127.0.0.1:port */
  server: string;
  /** Admin (system:masters) kubeconfig with embedded credentials. */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  binDir: string;
  /** Working directory: certs, etcd data, *.log, kubeconfigs. */
  dir: string;
  /** Runs the kubectl built with the server (never throws on a non-zero exit: check code). */
  kubectl(args: string[], options?: { input?: string; kubeconfig?: string }): Promise<ExecResult>;
  /** A kubeconfig for a client-certificate identity `name` in `groups`, signed by the cluster CA. No RBAC is granted. */
  createUser(name: string, groups?: string[]): Promise<string>;
  /** Set when started with auditWrites. The API server may append an event just after the response: poll. */
  auditLogPath?: string;
  /** Write events logged so far (auditWrites only), excluding the control plane's own bookkeeping. */
  auditEvents(): AuditEvent[];
  /** Every request of `user` logged so far (auditUsers only), reads included. */
  auditRequests(user: string): AuditEvent[];
  /** Tail of each component's log, for failure messages. */
  logs(lines?: number): string;
  /** Process id of each running component by name (etcd, kube-apiserver, ...), for benchmarks' CPU accounting. */
  pids(): Record<string, number>;
  stop(): Promise<void>;
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];

// ---------------------------------------------------------------------------------------------------------------
// Binaries

/** Runs scripts/control-plane-build.sh (progress to stderr) and returns the bin dir it prints on its last line. */
export function buildControlPlaneBinaries(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'control-plane-build.sh')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const bin = out.trim().split('\n').pop()?.trim();
      if (code === 0 && bin) resolve(bin);
      else reject(new Error(`scripts/control-plane-build.sh exited with ${code}`));
    });
  });
}

async function resolveBinDir(explicit?: string): Promise<string> {
  const bin = explicit ?? process.env['TOKENSYNC_KUBE_BIN'] ?? (await buildControlPlaneBinaries());
  for (const name of ['etcd', 'kube-apiserver', 'kubectl']) {
    if (!existsSync(join(bin, name)))
      throw new Error(`${join(bin, name)} is missing: run scripts/control-plane-build.sh`);
  }
  return bin;
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

/** A free loopback TCP port (the OS picks it; another process may race us, so callers retry on bind failure). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function run(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<ExecResult>((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ stdout, stderr, code: error ? (error.code as unknown as number) : 0 });
      },
    );
    // A child may exit without reading its stdin (openssl does): that EPIPE is not a failure of the command.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const result = await run(
    'openssl',
    args.map((a) => (a.startsWith('@') ? join(cwd, a.slice(1)) : a)),
  );
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

function ecKeyPem(): { privateKey: string; publicKey: string } {
  // P-256 keys: generated in-process in a millisecond, accepted by kube-apiserver for TLS, client certs and SA tokens.
  return generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

const b64 = (path: string) => readFileSync(path).toString('base64');

/** Signs a certificate for `subject` with the CA in `dir`; writes <name>.key and <name>.crt. */
async function issueCert(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  const { privateKey } = ecKeyPem();
  await writeFile(join(dir, `${name}.key`), privateKey, { mode: 0o600 });
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(['req', '-new', '-key', `@${name}.key`, '-subj', subject, '-out', `@${name}.csr`], dir);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `@${name}.csr`,
      '-CA',
      '@ca.crt',
      '-CAkey',
      '@ca.key',
      // A random serial per certificate: -CAcreateserial shares one serial file, and the certificates are issued in
      // parallel (openssl then fails with "Unable to load number from ca.srl" when it reads a half-written file).
      '-set_serial',
      `0x1${randomBytes(15).toString('hex')}`,
      '-days',
      '30',
      '-sha256',
      '-extfile',
      `@${name}.ext`,
      '-out',
      `@${name}.crt`,
    ],
    dir,
  );
}

/** An OpenSSL subject with escaping for the characters that are special in its /k=v/ syntax. */
function subjectOf(cn: string, groups: string[]): string {
  const esc = (v: string) => v.replace(/[\\/,+=]/g, (c) => `\\${c}`);
  return `/CN=${esc(cn)}${groups.map((g) => `/O=${esc(g)}`).join('')}`;
}

function kubeconfigYaml(server: string, caPath: string, user: string, certPath: string, keyPath: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: tokensync-test
    cluster:
      server: ${server}
      certificate-authority-data: ${b64(caPath)}
contexts:
  - name: ${JSON.stringify(user)}
    context:
      cluster: tokensync-test
      user: ${JSON.stringify(user)}
      namespace: default
current-context: ${JSON.stringify(user)}
users:
  - name: ${JSON.stringify(user)}
    user:
      client-certificate-data: ${b64(certPath)}
      client-key-data: ${b64(keyPath)}
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// Processes

interface Proc {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

/** Every live component of every control plane in this process, killed on exit even if a test forgot stop(). */
const live = new Set<Proc>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) killGroup(p, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Without a handler Node dies of the signal without running 'exit' handlers, so kill the components first, then
    // die of the same signal. When the program has its own handler (scripts/control-plane.ts stops gracefully), step
    // aside: it is responsible for calling stop().
    const handler = () => {
      if (process.listenerCount(signal) > 1) return;
      for (const p of live) killGroup(p, 'SIGKILL');
      process.removeListener(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

function killGroup(p: Proc, signal: NodeJS.Signals) {
  if (p.exitCode !== undefined || p.child.pid === undefined) return;
  try {
    process.kill(-p.child.pid, signal); // detached: its own process group
  } catch {
    try {
      p.child.kill(signal);
    } catch {}
  }
}

function startProcess(name: string, file: string, args: string[], dir: string): Proc {
  const logPath = join(dir, `${name}.log`);
  const fd = openSync(logPath, 'a');
  // detached: a Ctrl-C in the terminal reaches the test runner, which stops us, not the components half-way.
  const child = spawn(file, args, { cwd: dir, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const proc: Proc = { name, child, logPath, exited: Promise.resolve(null) };
  proc.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      proc.exitCode = code ?? (signal ? -1 : null);
      live.delete(proc);
      resolve(code);
    });
    child.on('error', () => {
      proc.exitCode = -1;
      live.delete(proc);
      resolve(-1);
    });
  });
  live.add(proc);
  installExitHook();
  return proc;
}

/**
 * A shell that kills the components when this (test worker) process dies without running its exit hook, e.g. on
 * SIGKILL or an OOM: nothing outlives the test run.
 */
function startWatchdog(procs: Proc[]): ChildProcess {
  const pids = procs.map((p) => p.child.pid).filter((pid): pid is number => pid !== undefined);
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; for p in ${pids.join(' ')}; do kill -9 -$p 2>/dev/null; done`;
  const child = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  child.unref();
  return child;
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTPS to the API server with the admin client certificate

interface Tls {
  ca: string;
  cert: string;
  key: string;
}

function apiRequest(
  server: string,
  tls: Tls,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpsRequest(
      new URL(path, server),
      {
        method,
        ...tls,
        headers: payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {},
        timeout: 10_000,
        agent: false,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          data += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The control plane

const auditPolicy = (users: string[]) => `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  # The API server's own bookkeeping (leases, endpoints, APF config) is noise for tests that count writes.
  - level: None
    users: ["system:apiserver"]
${
  users.length
    ? `  - level: Metadata
    users: [${users.map((u) => JSON.stringify(u)).join(', ')}]
`
    : ''
}  - level: Metadata
    verbs: [${WRITE_VERBS.join(', ')}]
  - level: None
`;

export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const binDir = await resolveBinDir(options.binDir);
  const keepDir = options.dir !== undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tokensync-cp-'));
  mkdirSync(dir, { recursive: true });
  const procs: Proc[] = [];
  let watchdog: ChildProcess | undefined;

  const stopAll = async () => {
    watchdog?.kill('SIGKILL');
    // Reverse order: the API server before etcd. SIGTERM, then SIGKILL after a short grace: the data is throwaway.
    for (const p of [...procs].reverse()) {
      killGroup(p, 'SIGTERM');
      const done = await Promise.race([p.exited.then(() => true), sleep(3000).then(() => false)]);
      if (!done) {
        killGroup(p, 'SIGKILL');
        await p.exited;
      }
    }
  };
  const logs = (lines = 40) =>
    procs.map((p) => `----- ${p.name} (${p.logPath}) -----\n${tail(p.logPath, lines)}`).join('\n');
  const fail = async (error: unknown): Promise<never> => {
    const text = logs();
    await stopAll();
    const keep = keepDir || Boolean(process.env['TOKENSYNC_KEEP_CONTROL_PLANE']);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    const message = error instanceof Error ? error.message : String(error);
    const where = keep ? `dir ${dir} kept` : 'set TOKENSYNC_KEEP_CONTROL_PLANE=1 to keep its dir';
    throw new Error(`control plane failed to start (${where}): ${message}\n${text}`);
  };

  try {
    // --- certificates (in parallel with etcd's start) ---
    const certs = (async () => {
      const ca = ecKeyPem();
      await writeFile(join(dir, 'ca.key'), ca.privateKey, { mode: 0o600 });
      await openssl(
        [
          'req',
          '-x509',
          '-new',
          '-key',
          '@ca.key',
          '-subj',
          '/CN=tokensync-test-ca',
          '-days',
          '30',
          '-sha256',
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
          '-out',
          '@ca.crt',
        ],
        dir,
      );
      const sa = ecKeyPem();
      await writeFile(join(dir, 'sa.key'), sa.privateKey, { mode: 0o600 });
      await writeFile(join(dir, 'sa.pub'), sa.publicKey);
      await Promise.all([
        issueCert(
          dir,
          'apiserver',
          '/CN=kube-apiserver',
          'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc\n',
        ),
        issueCert(dir, 'admin', subjectOf('tokensync-admin', ['system:masters']), clientExtensions),
        options.controllerManager
          ? issueCert(
              dir,
              'controller-manager',
              subjectOf('system:kube-controller-manager', ['system:masters']),
              clientExtensions,
            )
          : Promise.resolve(),
      ]);
    })();

    // --- etcd ---
    const etcd = await startEtcd(binDir, dir, procs, options.etcdQuotaBytes ?? 1024 ** 3);
    await certs;
    log(`etcd ready at ${etcd} (${Date.now() - started} ms)`);

    // --- kube-apiserver ---
    const audit = !!options.auditWrites || !!options.auditUsers?.length;
    const auditLogPath = audit ? join(dir, 'audit.log') : undefined;
    if (audit) await writeFile(join(dir, 'audit-policy.yaml'), auditPolicy(options.auditUsers ?? []));
    const tls: Tls = {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(dir, 'admin.crt'), 'utf8'),
      key: readFileSync(join(dir, 'admin.key'), 'utf8'),
    };
    const server = await startApiServer(binDir, dir, etcd, procs, tls, auditLogPath, options.admissionPlugins ?? []);
    log(`kube-apiserver ready at ${server} (${Date.now() - started} ms)`);

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      kubeconfigYaml(server, join(dir, 'ca.crt'), 'tokensync-admin', join(dir, 'admin.crt'), join(dir, 'admin.key')),
      { mode: 0o600 },
    );
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);

    // --- kube-controller-manager ---
    if (options.controllerManager) {
      const cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
      await writeFile(
        cmKubeconfig,
        kubeconfigYaml(
          server,
          join(dir, 'ca.crt'),
          'system:kube-controller-manager',
          join(dir, 'controller-manager.crt'),
          join(dir, 'controller-manager.key'),
        ),
        { mode: 0o600 },
      );
      const cm = join(binDir, 'kube-controller-manager');
      if (!existsSync(cm)) throw new Error(`${cm} is missing: run scripts/control-plane-build.sh`);
      procs.push(
        startProcess(
          'kube-controller-manager',
          cm,
          [
            `--kubeconfig=${cmKubeconfig}`,
            '--leader-elect=false',
            // resourcequota: quota usage is computed, so a ResourceQuota refuses writes as on a real cluster.
            `--controllers=${['garbagecollector', 'namespace', 'serviceaccount', 'serviceaccount-token', 'resourcequota', ...(options.controllers ?? [])].join(',')}`,
            `--service-account-private-key-file=${join(dir, 'sa.key')}`,
            `--root-ca-file=${join(dir, 'ca.crt')}`,
            '--use-service-account-credentials=false',
            '--secure-port=0', // no metrics/health endpoint: nothing to bind, nothing to collide
            '--concurrent-gc-syncs=5',
            '--v=1',
          ],
          dir,
        ),
      );
      // Not waited for: it needs no readiness, and GC/namespace deletion simply start a moment later.
    }

    watchdog = startWatchdog(procs);

    // --- CRDs ---
    if (options.crds ?? true) {
      await installCrds(server, tls);
      log(`CRDs established (${Date.now() - started} ms)`);
    }

    const kubectlCache = join(dir, 'kubectl-cache');
    const kubectl = (args: string[], opts: { input?: string; kubeconfig?: string } = {}) =>
      run(join(binDir, 'kubectl'), args, {
        input: opts.input,
        env: { ...process.env, KUBECONFIG: opts.kubeconfig ?? kubeconfigPath, KUBECACHEDIR: kubectlCache },
      });

    const createUser = async (name: string, groups: string[] = []) => {
      const safe = name.replace(/[^a-zA-Z0-9_.-]/g, '_');
      const file = `user-${safe}-${Math.random().toString(36).slice(2, 8)}`;
      await issueCert(dir, file, subjectOf(name, groups), clientExtensions);
      const path = join(dir, `${file}.kubeconfig`);
      await writeFile(
        path,
        kubeconfigYaml(server, join(dir, 'ca.crt'), name, join(dir, `${file}.crt`), join(dir, `${file}.key`)),
        { mode: 0o600 },
      );
      return path;
    };

    const auditLog = (): AuditEvent[] => {
      if (!auditLogPath || !existsSync(auditLogPath)) return [];
      return readFileSync(auditLogPath, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as AuditEvent);
    };
    const auditEvents = (): AuditEvent[] =>
      auditLog().filter((e) => WRITE_VERBS.includes(e.verb) && e.user.username !== 'system:kube-controller-manager');
    const auditRequests = (user: string): AuditEvent[] => auditLog().filter((e) => e.user.username === user);

    let stopped = false;
    log(`control plane up in ${Date.now() - started} ms (dir ${dir})`);
    return {
      server,
      kubeconfigPath,
      kubeConfig,
      binDir,
      dir,
      kubectl,
      createUser,
      auditLogPath,
      auditEvents,
      auditRequests,
      logs,
      pids: () =>
        Object.fromEntries(
          procs.filter((p) => p.child.pid !== undefined && p.exitCode === undefined).map((p) => [p.name, p.child.pid!]),
        ),
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
        if (!keepDir && !process.env['TOKENSYNC_KEEP_CONTROL_PLANE']) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    return fail(error);
  }
}

const clientExtensions =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';

async function startEtcd(binDir: string, dir: string, procs: Proc[], quotaBytes: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const proc = startProcess(
      attempt === 1 ? 'etcd' : `etcd-${attempt}`,
      join(binDir, 'etcd'),
      [
        `--data-dir=${join(dir, `etcd-data-${attempt}`)}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=default=http://127.0.0.1:${peer}`,
        '--unsafe-no-fsync', // throwaway data: fsync costs seconds on a busy disk
        `--quota-backend-bytes=${quotaBytes}`,
        '--log-level=warn',
      ],
      dir,
    );
    procs.push(proc);
    const deadline = Date.now() + 30_000;
    while (proc.exitCode === undefined && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return url;
      } catch {}
      await sleep(50);
    }
    if (proc.exitCode !== undefined && attempt < 3 && /address already in use/.test(tail(proc.logPath, 20))) continue;
    throw new Error(proc.exitCode !== undefined ? `etcd exited with ${proc.exitCode}` : 'etcd not healthy after 30s');
  }
}

async function startApiServer(
  binDir: string,
  dir: string,
  etcd: string,
  procs: Proc[],
  tls: Tls,
  auditLogPath: string | undefined,
  admissionPlugins: string[],
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const args = [
      `--etcd-servers=${etcd}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      `--service-account-issuer=${server}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      ...(admissionPlugins.length ? [`--enable-admission-plugins=${admissionPlugins.join(',')}`] : []),
      '--allow-privileged=true',
      // No kubernetes Service endpoint bookkeeping: nothing listens on 10.0.0.1 anyway.
      '--endpoint-reconciler-type=none',
      // /debug/pprof for benchmarks that look at where the API server's CPU goes (TOKENSYNC_APISERVER_PROFILING=1).
      `--profiling=${process.env['TOKENSYNC_APISERVER_PROFILING'] === '1'}`,
      '--v=1',
    ];
    if (auditLogPath) {
      args.push(
        `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${auditLogPath}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        '--audit-log-maxbackup=0',
      );
    }
    const proc = startProcess(
      attempt === 1 ? 'kube-apiserver' : `kube-apiserver-${attempt}`,
      join(binDir, 'kube-apiserver'),
      args,
      dir,
    );
    procs.push(proc);
    const deadline = Date.now() + 120_000;
    let last = '';
    while (proc.exitCode === undefined && Date.now() < deadline) {
      try {
        const res = await apiRequest(server, tls, 'GET', '/readyz');
        if (res.status === 200) return server;
        last = `/readyz: ${res.status} ${res.body.slice(0, 500)}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await sleep(100);
    }
    if (proc.exitCode !== undefined && attempt < 3 && /address already in use/.test(tail(proc.logPath, 30))) continue;
    throw new Error(
      proc.exitCode !== undefined
        ? `kube-apiserver exited with ${proc.exitCode}`
        : `kube-apiserver not ready after 120s (${last})`,
    );
  }
}

/** The CRD manifests in crds/ (the generated ones), parsed. */
export function crdManifests(): Array<Record<string, unknown>> {
  const crdDir = join(REPO_ROOT, 'crds');
  return readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(crdDir, f), 'utf8')).map((d) => d.toJS()))
    .filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object');
}

async function installCrds(server: string, tls: Tls): Promise<void> {
  const crds = crdManifests();
  const base = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  await Promise.all(
    crds.map(async (crd) => {
      const name = (crd['metadata'] as { name: string }).name;
      // Server-side apply: idempotent if a caller passes an existing dir/cluster.
      const res = await apiRequest(
        server,
        tls,
        'PATCH',
        `${base}/${name}?fieldManager=tokensync-test&force=true`,
        crd,
        'application/apply-patch+yaml',
      );
      if (res.status >= 300) throw new Error(`applying CRD ${name}: ${res.status} ${res.body}`);
    }),
  );
  const deadline = Date.now() + 60_000;
  for (const crd of crds) {
    const name = (crd['metadata'] as { name: string }).name;
    for (;;) {
      const res = await apiRequest(server, tls, 'GET', `${base}/${name}`);
      const conditions =
        (
          JSON.parse(res.body) as {
            status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
          }
        ).status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established: ${JSON.stringify(conditions)}`);
      await sleep(50);
    }
  }
}
