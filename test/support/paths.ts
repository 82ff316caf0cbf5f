import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, for tests that read committed files (crds/, deploy/samples/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SAMPLES_DIR = join(REPO_ROOT, 'deploy', 'samples');
