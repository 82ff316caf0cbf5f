#!/usr/bin/env node
// kubectl-tokensync: the kubectl plugin (`kubectl tokensync ...` once the binary is on PATH). Each subcommand is
// loaded only when chosen: `status` does not pay for the provider adapters that `revoke-orphans` needs.
import { UsageError } from './plugin/io.ts';

type Command = { run(argv: string[]): Promise<number>; usage: string };

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  status: {
    summary: 'Show ServiceAccountTokens: Ready, Secret, expiry, next renewal.',
    load: () => import('./plugin/status.ts'),
  },
  renew: { summary: 'Rotate a token now (optionally wait until done).', load: () => import('./plugin/renew.ts') },
  'revoke-orphans': {
    summary: 'Find and revoke upstream tokens no ServiceAccountToken holds.',
    load: () => import('./plugin/revoke-orphans.ts'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(16)}${c.summary}`);
  return [
    'Usage: kubectl tokensync <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Flags of every command: -n/--namespace, -A/--all-namespaces, --kubeconfig, --context, -h/--help.',
    '',
  ].join('\n');
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  process.stdout.write(usage());
  process.exit(name ? 0 : 2);
}
const command = commands[name];
if (!command) {
  process.stderr.write(`kubectl-tokensync: unknown command "${name}"\n\n${usage()}`);
  process.exit(2);
}
const loaded = await command.load();
try {
  process.exitCode = await loaded.run(rest);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n\n${loaded.usage}`);
    process.exitCode = 2;
  } else {
    const e = error as { code?: number; message?: string; body?: { message?: string } };
    process.stderr.write(`error: ${e.body?.message ?? e.message ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
