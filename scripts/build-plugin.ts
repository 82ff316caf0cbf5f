// Builds the kubectl plugin as one self-contained ES module (esbuild bundles it with its dependencies, so it needs
// nothing but Node), plus the kubectl_complete-tokensync wrapper kubectl runs for `kubectl tokensync <TAB>`, into
// packages/kubectl-tokensync/dist/. That directory is the publishable npm package (`npm pack packages/kubectl-tokensync`).
//
//   npm run build:plugin            # then: node packages/kubectl-tokensync/dist/kubectl-tokensync.mjs --help
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const pkgDir = join(root, 'packages', 'kubectl-tokensync');
const outDir = join(pkgDir, 'dist');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const pluginPkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
};
if (pluginPkg.version !== rootPkg.version) {
  throw new Error(
    `packages/kubectl-tokensync/package.json is ${pluginPkg.version}, the repository ${rootPkg.version}: release them together`,
  );
}
// The oldest Node the package admits is what the bundle targets (esbuild lowers newer syntax, if any).
const floor = /(\d+)\.(\d+)/.exec(pluginPkg.engines.node);
if (!floor) throw new Error(`cannot read a Node version from engines "${pluginPkg.engines.node}"`);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const bundle = join(outDir, 'kubectl-tokensync.mjs');
const result = await build({
  entryPoints: [join(root, 'src', 'cli', 'kubectl-plugin.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: `node${floor[1]}.${floor[2]}`,
  minify: false,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  define: { __TOKENSYNC_VERSION__: JSON.stringify(rootPkg.version) },
  // CommonJS dependencies bundled into an ES module still call require() for Node built-ins.
  banner: {
    js: [
      `// kubectl-tokensync ${rootPkg.version}: single-file build of src/cli/kubectl-plugin.ts and its dependencies.`,
      "import { createRequire as __tokensyncCreateRequire } from 'node:module';",
      'const require = __tokensyncCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});
// esbuild keeps the entry point's `#!/usr/bin/env node` line first; the file only needs to be executable.
chmodSync(bundle, 0o755);
const wrapper = join(outDir, 'kubectl_complete-tokensync.mjs');
writeFileSync(
  wrapper,
  [
    '#!/usr/bin/env node',
    '// kubectl runs this for `kubectl tokensync <TAB>` (kubectl 1.26+): the plugin answers in cobra completion format.',
    "process.argv.splice(2, 0, '__complete');",
    "await import('./kubectl-tokensync.mjs');",
    '',
  ].join('\n'),
  { mode: 0o755 },
);
const inputs = Object.keys(result.metafile.inputs).length;
const size = statSync(bundle).size;
console.log(`${bundle}: ${(size / 1024 / 1024).toFixed(2)} MiB from ${inputs} modules`);
