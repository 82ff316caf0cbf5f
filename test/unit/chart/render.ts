// `helm template` of the chart for unit tests (helm found by helm.ts, never built from here).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KUBE_VERSION, REPO_ROOT } from './helm.ts';

export type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string } };

/** Renders the chart (release `tokensync` in `tokensync-system`) with `args`; returns the objects, of `kind` if given. */
export function renderChart(helm: string, args: string[] = [], kind?: string): Manifest[] {
  const out = execFileSync(
    helm,
    [
      'template',
      'tokensync',
      join(REPO_ROOT, 'charts', 'tokensync'),
      '-n',
      'tokensync-system',
      '--kube-version',
      KUBE_VERSION,
      ...args,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const objects = parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
  return kind ? objects.filter((o) => o.kind === kind) : objects;
}
