#!/usr/bin/env node
// kubectl-tokensync: the kubectl plugin (`kubectl tokensync ...` once the binary is on PATH). Each subcommand is
// loaded only when chosen: `status` does not pay for the provider adapters that `revoke-orphans` needs.
import { UsageError } from './plugin/io.ts';
import { COMMANDS } from './plugin/spec.ts';

type Command = { run(argv: string[]): Promise<number>; usage?: string };

const loaders: Record<string, () => Promise<Command>> = {
  status: () => import('./plugin/status.ts'),
  renew: () => import('./plugin/renew.ts'),
  'revoke-orphans': () => import('./plugin/revoke-orphans.ts'),
  completion: () => import('./plugin/shell.ts'),
  __complete: async () => ({ run: (await import('./plugin/shell.ts')).runComplete }),
  version: async () => ({
    run: async () => {
      process.stdout.write(`${(await import('./plugin/version.ts')).pluginVersion()}\n`);
      return 0;
    },
  }),
};

function usage(): string {
  const lines = Object.entries(COMMANDS)
    .filter(([, c]) => !c.hidden)
    .map(([name, c]) => `  ${name.padEnd(16)}${c.summary}`);
  return [
    'Usage: kubectl tokensync <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    "Commands that talk to the cluster take kubectl's -n/--namespace, -A/--all-namespaces, --kubeconfig and",
    '--context. Run kubectl tokensync <command> --help for its flags.',
    '',
  ].join('\n');
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  (name ? process.stdout : process.stderr).write(usage());
  process.exit(name ? 0 : 2);
}
const load = loaders[name];
if (!load) {
  process.stderr.write(`kubectl-tokensync: unknown command "${name}"\n\n${usage()}`);
  process.exit(2);
}
const loaded = await load();
try {
  process.exitCode = await loaded.run(rest);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n\n${loaded.usage ?? usage()}`);
    process.exitCode = 2;
  } else {
    const e = error as { code?: number; message?: string; body?: { message?: string } };
    process.stderr.write(`error: ${e.body?.message ?? e.message ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
