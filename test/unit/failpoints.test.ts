import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAILPOINTS, failpoint, parseFailpoints } from '../../src/failpoints.ts';
import { REPO_ROOT } from '../support/paths.ts';

describe('failpoints', () => {
  it('parses NAME=[N*]crash|error terms', () => {
    const armed = parseFailpoints('after-journal=crash, after-mint=2*error');
    expect(armed.get('after-journal')).toEqual({ action: 'crash', remaining: Number.POSITIVE_INFINITY });
    expect(armed.get('after-mint')).toEqual({ action: 'error', remaining: 2 });
  });

  it('refuses an unknown point or action, so a typo never silently tests nothing', () => {
    expect(() => parseFailpoints('after-jornal=crash')).toThrow(/unknown failpoint "after-jornal"/);
    expect(() => parseFailpoints('after-journal=panic')).toThrow(/is not NAME=\[N\*\]crash\|error/);
  });

  it('does nothing when TOKENSYNC_FAILPOINTS is unset', () => {
    expect(process.env['TOKENSYNC_FAILPOINTS']).toBeUndefined();
    for (const name of Object.keys(FAILPOINTS)) expect(() => failpoint(name as keyof typeof FAILPOINTS)).not.toThrow();
  });

  it('throws for error, N times, and kills the process for crash', () => {
    const script = `
      const { failpoint } = await import(${JSON.stringify(join(REPO_ROOT, 'src/failpoints.ts'))});
      let errors = 0;
      for (let i = 0; i < 3; i++) { try { failpoint('after-mint'); } catch { errors++; } }
      console.log('errors', errors);
      failpoint('after-secret');
      console.log('still alive');
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TOKENSYNC_FAILPOINTS: 'after-mint=2*error,after-secret=crash' },
      encoding: 'utf8',
    });
    expect(run.stdout).toContain('errors 2');
    expect(run.stdout).not.toContain('still alive');
    expect(run.signal).toBe('SIGKILL');
    expect(run.stderr).toContain('"failpoint":"after-secret"');
  });
});
