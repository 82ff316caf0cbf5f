// Finds the helm binary built by scripts/control-plane-build.sh without ever starting a build from a unit test
// (a cold build takes 15-25 minutes): $TOKENSYNC_KUBE_BIN/helm, else the build script's output when its cache
// already holds helm (then the script returns at once), else undefined with the reason.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

/** The chart's minimum Kubernetes version; a helm built without release ldflags would assume v1.20. */
export const KUBE_VERSION = '1.30.0';

function moduleVersion(dir: string, module: string): string | undefined {
  const goMod = readFileSync(join(REPO_ROOT, 'tools', dir, 'go.mod'), 'utf8');
  return new RegExp(`^require ${module.replaceAll('.', '\\.')} (\\S+)`, 'm').exec(goMod)?.[1];
}

export function findHelm(): { helm: string; binDir: string } | { reason: string } {
  const fromEnv = process.env['TOKENSYNC_KUBE_BIN'];
  if (fromEnv && existsSync(join(fromEnv, 'helm'))) return { helm: join(fromEnv, 'helm'), binDir: fromEnv };
  const cache =
    process.env['TOKENSYNC_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tokensync');
  const kube = moduleVersion('kube', 'k8s.io/kubernetes');
  const etcd = moduleVersion('etcd', 'go.etcd.io/etcd/server/v3');
  const helmVersion = moduleVersion('helm', 'helm.sh/helm/v3');
  // The script keys its cache by versions and a recipe revision; read the revision from the script itself.
  const script = readFileSync(join(REPO_ROOT, 'scripts', 'control-plane-build.sh'), 'utf8');
  const recipe = /^recipe=(\S+)$/m.exec(script)?.[1];
  const dirName = `kube-${kube}-etcd-${etcd}-helm-${helmVersion}${recipe ? `-r${recipe}` : ''}`;
  const expected = join(cache, 'bin', dirName, 'helm');
  if (!existsSync(expected)) {
    return { reason: `helm is not built yet (no ${expected}); run: bash scripts/control-plane-build.sh` };
  }
  const binDir = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'control-plane-build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .trim()
    .split('\n')
    .at(-1)!;
  return { helm: join(binDir, 'helm'), binDir };
}
