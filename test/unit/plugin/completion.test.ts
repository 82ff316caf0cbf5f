// Shell completion: the engine (pure, lookups injected) and the generated scripts run by real shells against the
// plugin's real `__complete` (through a kubectl-tokensync shim on PATH; names come from a stub lookup file).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Completion,
  complete,
  completionScript,
  Directive,
  type Lookups,
} from '../../../src/cli/plugin/completion.ts';
import { COMMANDS, flagsOf } from '../../../src/cli/plugin/spec.ts';
import type { GlobalFlags } from '../../../src/cli/plugin/target.ts';
import { REPO_ROOT } from '../../support/paths.ts';

const seen: GlobalFlags[] = [];
const lookups: Lookups = {
  tokens: async (flags) => {
    seen.push(flags);
    return flags.namespace === 'team-b' ? ['etl'] : ['reporting', 'reports-eu', 'billing'];
  },
  namespaces: async () => ['default', 'team-a', 'team-b'],
  contexts: async () => ['prod', 'staging'],
  providers: async () => ['iomete-prod', 'rill'],
};
const values = (c: Completion) => c.candidates.map((x) => x.split('\t')[0]);

describe('completion engine', () => {
  it('offers the visible commands with their summaries, never the hidden protocol command', async () => {
    const c = await complete([''], lookups);
    expect(values(c)).toEqual(['status', 'renew', 'revoke-orphans', 'completion', 'version']);
    expect(c.candidates[0]).toBe(`status\t${COMMANDS['status']!.summary}`);
    expect(c.directive).toBe(Directive.NoFileComp);
    expect(values(await complete(['re'], lookups))).toEqual(['renew', 'revoke-orphans']);
  });

  it("offers a command's flags from spec.ts, without those already given", async () => {
    const c = await complete(['renew', '--wait', '--'], lookups);
    const expected = Object.keys(flagsOf(COMMANDS['renew']!))
      .filter((f) => f !== 'wait')
      .map((f) => `--${f}`);
    expect(values(c)).toEqual(expected);
    expect(values(await complete(['revoke-orphans', '--d'], lookups))).toEqual(['--dry-run']);
  });

  it('completes token names in the namespace the line names (-n NS, -nNS, --namespace=NS)', async () => {
    expect(values(await complete(['status', 'rep'], lookups))).toEqual(['reporting', 'reports-eu']);
    seen.length = 0;
    expect(values(await complete(['status', '-n', 'team-b', ''], lookups))).toEqual(['etl']);
    expect(values(await complete(['status', '-nteam-b', ''], lookups))).toEqual(['etl']);
    expect(
      values(await complete(['renew', '--namespace=team-b', '--kubeconfig', '/k', '--context', 'prod', ''], lookups)),
    ).toEqual(['etl']);
    expect(seen.at(-1)).toEqual({ namespace: 'team-b', kubeconfig: '/k', context: 'prod' });
  });

  it('stops at the number of positionals a command takes; renew offers each name once', async () => {
    expect(values(await complete(['status', 'billing', ''], lookups))).toEqual([]);
    expect(values(await complete(['renew', 'billing', ''], lookups))).toEqual(['reporting', 'reports-eu']);
    expect(values(await complete(['revoke-orphans', ''], lookups))).toEqual([]);
  });

  it('completes flag values by kind: namespaces, contexts, providers, shells, files', async () => {
    expect(values(await complete(['status', '-n', 'team'], lookups))).toEqual(['team-a', 'team-b']);
    expect(values(await complete(['status', '--context', ''], lookups))).toEqual(['prod', 'staging']);
    expect(values(await complete(['revoke-orphans', '--provider', 'i'], lookups))).toEqual(['iomete-prod']);
    expect(values(await complete(['completion', ''], lookups))).toEqual(['bash', 'zsh', 'fish']);
    expect(values(await complete(['status', '--namespace=team-'], lookups))).toEqual([
      '--namespace=team-a',
      '--namespace=team-b',
    ]);
    // A path: nothing from us, and the shell's own file completion stays on.
    expect(await complete(['status', '--kubeconfig', ''], lookups)).toEqual({
      candidates: [],
      directive: Directive.Default,
    });
    // Free text: nothing, and no file names either.
    expect(await complete(['renew', '-l', ''], lookups)).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });

  it('offers nothing, without failing, when the cluster cannot be asked', async () => {
    const failing: Lookups = { ...lookups, tokens: () => Promise.reject(new Error('connection refused')) };
    expect(await complete(['status', ''], failing)).toEqual({ candidates: [], directive: Directive.NoFileComp });
    expect(await complete(['bogus', ''], lookups)).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The scripts, in the real shells. A shim named kubectl-tokensync runs the plugin's source with test lookups: the
// plugin's real __complete, without a cluster.

const dir = mkdtempSync(join(tmpdir(), 'tokensync-completion-'));
const shim = join(dir, 'kubectl-tokensync');
writeFileSync(
  join(dir, 'lookups.ts'),
  `import { runComplete } from ${JSON.stringify(join(REPO_ROOT, 'src/cli/plugin/shell.ts'))};
const lookups = {
  tokens: async () => ['reporting', 'reports-eu'],
  namespaces: async () => ['team-a', 'team-b'],
  contexts: async () => ['prod'],
  providers: async () => ['iomete-prod'],
};
const argv = process.argv.slice(2);
if (argv[0] === '__complete') await runComplete(argv.slice(1), undefined, lookups);
else await import(${JSON.stringify(join(REPO_ROOT, 'src/cli/kubectl-plugin.ts'))});
`,
);
writeFileSync(
  shim,
  `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(dir, 'lookups.ts'))} "$@"\n`,
);
chmodSync(shim, 0o755);
const env = { ...process.env, PATH: `${dir}:${process.env['PATH']}` };

function shell(bin: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, ['-c', script], { env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function which(bin: string): Promise<boolean> {
  return shell('sh', `command -v ${bin}`).then((r) => r.code === 0);
}

describe('bash script', () => {
  const bashComplete = async (line: string[]) => {
    const words = line.map((w) => `'${w}'`).join(' ');
    const r = await shell(
      'bash',
      `source <(kubectl-tokensync completion bash)
       COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
       _kubectl_tokensync; printf '%s\\n' "\${COMPREPLY[@]}"; complete -p kubectl-tokensync`,
    );
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim().split('\n');
  };

  it('registers for kubectl-tokensync and completes commands, flags and names through __complete', {
    timeout: 60_000,
  }, async () => {
    const commands = await bashComplete(['kubectl-tokensync', 're']);
    expect(commands).toEqual(['renew', 'revoke-orphans', 'complete -F _kubectl_tokensync kubectl-tokensync']);
    expect((await bashComplete(['kubectl-tokensync', 'renew', '--wa'])).slice(0, -1)).toEqual(['--wait']);
    expect((await bashComplete(['kubectl-tokensync', 'status', '-n', 'team-a', 'rep'])).slice(0, -1)).toEqual([
      'reporting',
      'reports-eu',
    ]);
  });
});

describe('zsh script', () => {
  it('feeds _describe with value:description pairs from __complete', { timeout: 60_000 }, async () => {
    if (!(await which('zsh'))) {
      console.log('[completion] skipped zsh: zsh is not installed (.ci/run installs it: apt-get install zsh)');
      return;
    }
    // compsys is interactive-only; _describe is stubbed to print what the function hands it.
    const r = await shell(
      'zsh',
      `compdef() { :; }
       _describe() { print -rl -- "\${(@P)4}" }
       source <(kubectl-tokensync completion zsh)
       words=(kubectl-tokensync status -n team-a rep); CURRENT=5
       _kubectl-tokensync
       words=(kubectl-tokensync re); CURRENT=2
       _kubectl-tokensync`,
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['reporting', 'reports-eu']);
    expect(lines[2]).toBe(`renew:${COMMANDS['renew']!.summary}`);
  });
});

describe('fish script and unsupported shells', () => {
  it('fish: runs (when fish is installed); completion refuses unknown shells', { timeout: 60_000 }, async () => {
    expect(completionScript('fish')).toContain('complete -c kubectl-tokensync');
    expect(completionScript('powershell')).toBeUndefined();
    if (!(await which('fish'))) {
      console.log('[completion] skipped running fish: not installed (Debian package fish)');
      return;
    }
    const r = await shell('fish', 'kubectl-tokensync completion fish | source; complete -C "kubectl-tokensync re"');
    expect(r.stdout).toContain('renew');
  });
});
