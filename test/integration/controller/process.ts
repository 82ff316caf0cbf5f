// Runs `tokensync controller` as a real child process, so tests can SIGKILL it, run two for leader election, and
// scrape its endpoints.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TEST_EGRESS_ALLOW } from '../../support/egress.ts';
import { REPO_ROOT } from '../../support/paths.ts';

export class ControllerProcess {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  metricsUrl: string | undefined;
  healthUrl: string | undefined;
  #exited: Promise<number | null>;

  /**
   * `nodeArgs`: more Node flags (some, like --optimize-for-size, are refused in NODE_OPTIONS).
   * `entry`: the script to run, default src/cli/main.ts; benchmarks pass the compiled dist/cli/main.js, which is what
   * the image runs (running TypeScript costs Node's type stripper, about 10 MiB of RSS, that production never pays).
   */
  constructor(
    kubeconfig: string,
    extraArgs: string[] = [],
    env: Record<string, string> = {},
    options: { entry?: string; nodeArgs?: string[] } = {},
  ) {
    this.child = spawn(
      process.execPath,
      [
        // The same V8 flags as the image's ENTRYPOINT, so tests and benchmarks measure what production runs.
        '--max-semi-space-size=2',
        '--optimize-for-size',
        ...(options.nodeArgs ?? []),
        options.entry ?? join(REPO_ROOT, 'src/cli/main.ts'),
        'controller',
        '--kubeconfig',
        kubeconfig,
        '--metrics-bind-address',
        '127.0.0.1:0',
        '--health-probe-bind-address',
        '127.0.0.1:0',
        // Plain HTTP unless a test asks for the secure server (metrics-auth.test.ts): the last occurrence wins.
        '--metrics-secure=false',
        '--log-level',
        'debug',
        // The reference credentials API listens on loopback, which the default egress policy denies.
        '--egress-allow',
        TEST_EGRESS_ALLOW.join(','),
        ...extraArgs,
      ],
      // glibc's allocator settings as the image sets them (Dockerfile).
      {
        env: { ...process.env, MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '16384', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        this.output.push(line);
        if (!this.metricsUrl && line.includes('"msg":"starting"')) {
          const record = JSON.parse(line) as { metrics: string; health: string };
          this.metricsUrl = record.metrics;
          this.healthUrl = record.health;
        }
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.#exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.#exited;
  }

  get exited(): Promise<number | null> {
    return this.#exited;
  }

  /** Resolves when the process logged that its caches are synced. */
  async synced(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.some((l) => l.includes('caches synced'))) {
      if (Date.now() > deadline) throw new Error(`controller did not sync:\n${this.output.slice(-20).join('\n')}`);
      if (this.child.exitCode !== null) throw new Error(`controller exited:\n${this.output.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
