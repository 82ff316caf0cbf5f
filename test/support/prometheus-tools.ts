// Finds promtool and prometheus built by scripts/prometheus-build.sh. Unit tests never start a build (a cold one
// takes minutes): they use $TOKENSYNC_PROMETHEUS_BIN, else the cache directory when it already holds the binaries,
// else they skip with the reason. The integration tests' global setup builds them (test/support/global-setup.ts).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';

function expectedBinDir(): string {
  const goMod = readFileSync(join(REPO_ROOT, 'tools', 'prometheus', 'go.mod'), 'utf8');
  const version = /^require github\.com\/prometheus\/prometheus (\S+)/m.exec(goMod)?.[1];
  const script = readFileSync(join(REPO_ROOT, 'scripts', 'prometheus-build.sh'), 'utf8');
  const recipe = /^recipe=(\S+)$/m.exec(script)?.[1];
  const cache =
    process.env['TOKENSYNC_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tokensync');
  return join(cache, 'bin', `prometheus-${version}-r${recipe}`);
}

/** The directory holding promtool and prometheus, or the reason they are not there. */
export function findPrometheusTools(): { binDir: string } | { reason: string } {
  const fromEnv = process.env['TOKENSYNC_PROMETHEUS_BIN'];
  if (fromEnv && existsSync(join(fromEnv, 'promtool'))) return { binDir: fromEnv };
  const dir = expectedBinDir();
  if (!existsSync(join(dir, 'promtool')) || !existsSync(join(dir, 'prometheus'))) {
    return { reason: `promtool is not built yet (no ${dir}/promtool); run: bash scripts/prometheus-build.sh` };
  }
  return { binDir: dir };
}

/** Builds them if needed (integration global setup and CI only: a cold build takes minutes). */
export function buildPrometheusTools(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [join(REPO_ROOT, 'scripts', 'prometheus-build.sh')],
      { maxBuffer: 1024 * 1024 },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim().split('\n').at(-1)!)),
    );
    child.stderr?.pipe(process.stderr);
  });
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs promtool with `input` on stdin; never throws on a non-zero exit. */
export function promtool(binDir: string, args: string[], input?: string): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(join(binDir, 'promtool'), args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export function promtoolVersion(binDir: string): string {
  return execFileSync(join(binDir, 'promtool'), ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
}
