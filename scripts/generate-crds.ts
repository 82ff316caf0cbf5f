// Writes crds/*.yaml and the Helm chart's copies from the zod schemas in src/api (the single source of truth).
// `--check` writes nothing and exits 1 when a committed file differs, for CI and the staleness test.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrdFiles } from '../src/api/render.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [relative, content] of renderCrdFiles()) {
  const path = join(root, relative);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {}
  if (current === content) continue;
  if (check) {
    console.error(`stale: ${relative} (run npm run generate)`);
    stale++;
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`wrote ${relative}`);
  }
}
if (stale) process.exit(1);
