// Argument parsing and usage errors of the plugin's commands: everything decided before the first API call.
import { describe, expect, it } from 'vitest';
import type { AnyProvider, ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { type Io, parse, UsageError } from '../../../src/cli/plugin/io.ts';
import { run as renew, selectionOf } from '../../../src/cli/plugin/renew.ts';
import { accountsToList, providerTargets, run as revokeOrphans } from '../../../src/cli/plugin/revoke-orphans.ts';
import { run as completion } from '../../../src/cli/plugin/shell.ts';
import { COMMANDS, flagHelp, flagsOf } from '../../../src/cli/plugin/spec.ts';
import { run as status } from '../../../src/cli/plugin/status.ts';

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
    isTTY: false,
    env: {},
    now: () => new Date(),
    sleep: async () => {},
  };
  return io;
}

const renewArgs = (...argv: string[]) => parse(argv, COMMANDS['renew']!);

describe('renew selection', () => {
  it('takes names, a label selector or --all: exactly one of them', () => {
    expect(selectionOf(renewArgs('a', 'b', 'a'))).toEqual({ by: 'names', names: ['a', 'b'] });
    expect(selectionOf(renewArgs('-l', 'team=payments,tier!=db'))).toEqual({
      by: 'selector',
      selector: 'team=payments,tier!=db',
    });
    expect(selectionOf(renewArgs('--selector=app=web', '-A'))).toEqual({ by: 'selector', selector: 'app=web' });
    expect(selectionOf(renewArgs('--all', '-A'))).toEqual({ by: 'all' });
    expect(() => selectionOf(renewArgs())).toThrow(/NAME\.\.\., -l SELECTOR or --all/);
    expect(() => selectionOf(renewArgs('a', '--all'))).toThrow(/only one of/);
    expect(() => selectionOf(renewArgs('-l', 'x=y', '--all'))).toThrow(/only one of/);
    expect(() => selectionOf(renewArgs('a', '-A'))).toThrow(/NAME needs one namespace/);
    expect(() => selectionOf(renewArgs('-l', ' '))).toThrow(/-l needs a selector/);
  });

  it('rejects bad flags and durations before touching the cluster', async () => {
    await expect(renew(['--all', '--timeout', 'soon'], capture())).rejects.toThrow(/invalid duration "soon"/);
    await expect(renew(['--all', '-n', 'x', '-A'], capture())).rejects.toThrow(/not both/);
    await expect(renew(['--bogus'], capture())).rejects.toThrow(UsageError);
  });
});

describe('status, revoke-orphans and completion arguments', () => {
  it('status takes at most one NAME, and not together with -l or -A', async () => {
    await expect(status(['a', 'b'], capture())).rejects.toThrow(/at most one NAME/);
    await expect(status(['a', '-l', 'x=y'], capture())).rejects.toThrow(/NAME or -l/);
    await expect(status(['a', '-A'], capture())).rejects.toThrow(/use -n, not -A/);
    await expect(status(['-n', 'x', '-A'], capture())).rejects.toThrow(/not both/);
  });

  it('revoke-orphans takes no arguments; completion one known shell', async () => {
    await expect(revokeOrphans(['extra'], capture())).rejects.toThrow(/takes no arguments/);
    await expect(completion([], capture())).rejects.toThrow(/one shell/);
    await expect(completion(['powershell'], capture())).rejects.toThrow(/unsupported shell "powershell"/);
    const io = capture();
    expect(await completion(['bash'], io)).toBe(0);
    expect(io.stdout).toContain('complete -F _kubectl_tokensync kubectl-tokensync');
  });

  it('--help of every command lists every flag it parses', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      const help = flagHelp(command);
      for (const flag of Object.keys(flagsOf(command))) expect(help, `${name} --${flag}`).toContain(`--${flag}`);
    }
    for (const run of [status, renew, revokeOrphans, completion]) {
      const io = capture();
      expect(await run(['--help'], io)).toBe(0);
      expect(io.stdout).toMatch(/^Usage: kubectl/);
      expect(io.stdout).toContain('Flags:');
    }
  });
});

describe('revoke-orphans scope', () => {
  const provider = (kind: AnyProvider['kind'], name: string, type: string, namespace?: string) =>
    ({ kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { type } }) as unknown as AnyProvider;
  const sat = (namespace: string, name: string, ref: { name: string; kind?: string }, serviceAccount?: string) =>
    ({
      metadata: { namespace, name },
      spec: { providerRef: ref, ...(serviceAccount ? { serviceAccount } : {}) },
    }) as unknown as ServiceAccountToken;

  it('audits providers of every type (their adapter decides whether it can list), with their own resources', () => {
    const providers = [
      provider('CredentialsProvider', 'iomete', 'iomete', 'a'),
      provider('CredentialsProvider', 'rill', 'rill', 'a'),
      provider('ClusterCredentialsProvider', 'rill', 'rill'),
    ];
    const sats = [
      sat('a', 'x', { name: 'rill' }, 'sa-1'),
      sat('b', 'y', { name: 'rill', kind: 'ClusterCredentialsProvider' }),
      sat('b', 'z', { name: 'rill' }), // a CredentialsProvider "rill" in namespace b: not one of these
    ];
    const targets = providerTargets(providers, sats);
    expect(targets.map((t) => [t.key, t.resources.map((r) => r.metadata.name)])).toEqual([
      ['a/iomete', []],
      ['a/rill', ['x']],
      ['cluster/rill', ['y']],
    ]);
    expect(providerTargets(providers, sats, 'iomete').map((t) => t.key)).toEqual(['a/iomete']);
  });

  it('lists the accounts resources name; once without an account when they name none; nothing without resources', () => {
    const ref = { name: 'p' };
    expect(
      accountsToList([sat('a', 'x', ref, 'sa-2'), sat('a', 'y', ref, 'sa-1'), sat('a', 'z', ref, 'sa-2')]),
    ).toEqual(['sa-1', 'sa-2']);
    expect(accountsToList([sat('a', 'x', ref)])).toEqual([undefined]);
    expect(accountsToList([])).toEqual([]);
  });
});
