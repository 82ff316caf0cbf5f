import { createRequire } from 'node:module';

// Set by the single-file build (scripts/build-plugin.ts, esbuild's `define`): the bundle has no package.json beside it.
declare const __TOKENSYNC_VERSION__: string | undefined;

/** The version of the package this plugin ships in: the bundled constant, else the repository's package.json. */
export function pluginVersion(): string {
  if (typeof __TOKENSYNC_VERSION__ === 'string') return __TOKENSYNC_VERSION__;
  // src/cli/plugin/ and dist/cli/plugin/ are both three levels below the repository root.
  return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
}
