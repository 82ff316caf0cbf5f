// Runs test/e2e/kind.sh (kind cluster + docker-built image + helm chart + reference sample → Ready) when this machine
// can: it needs a running Docker engine and kind. Otherwise the test is skipped and the reason is printed, never
// silently. Set TOKENSYNC_E2E_KIND=0 to skip it on purpose (it takes minutes).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.ts';

function skipReason(): string | undefined {
  if (process.env['TOKENSYNC_E2E_KIND'] === '0') return 'TOKENSYNC_E2E_KIND=0';
  const docker = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 30_000 });
  if (docker.error) return `docker is not installed (${docker.error.message})`;
  if (docker.status !== 0) {
    const why =
      `${docker.stderr}`
        .trim()
        .split('\n')
        .find((l) => l.trim()) ?? `exit ${docker.status}`;
    return `\`docker info\` failed, no Docker engine: ${why.slice(0, 200)}`;
  }
  const kind = spawnSync('kind', ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (kind.error || kind.status !== 0) return 'kind is not installed';
  return undefined;
}

const reason = skipReason();
if (reason) console.warn(`[e2e-kind] skipping the kind end-to-end test: ${reason}`);

describe('kind end-to-end', () => {
  it.skipIf(reason !== undefined)(
    'installs the chart on kind and the reference sample becomes Ready',
    async () => {
      const code = await new Promise<number | null>((resolve, reject) => {
        // Output streams to the terminal: this takes minutes, progress matters.
        const child = spawn('bash', [join(REPO_ROOT, 'test', 'e2e', 'kind.sh')], {
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        child.on('error', reject);
        child.on('close', resolve);
      });
      expect(code, 'test/e2e/kind.sh failed: see its output above').toBe(0);
    },
    30 * 60_000,
  );
});
