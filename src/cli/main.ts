#!/usr/bin/env node
// tokensync's single entry point. Each subcommand lives in its own module, loaded only when chosen, so
// `tokensync credentials-api` does not pay for the controller's Kubernetes client and vice versa.
const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  controller: { summary: 'Run the operator (reconciles ServiceAccountTokens).', load: () => import('./controller.ts') },
  'credentials-api': {
    summary: 'Run the bundled reference credentials API server.',
    load: () => import('./credentials-api.ts'),
  },
  version: {
    summary: 'Print the version.',
    load: async () => ({
      run: async () => {
        const { createRequire } = await import('node:module');
        const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
        console.log(pkg.version);
        return 0;
      },
    }),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(18)}${c.summary}`);
  return [
    'Usage: tokensync <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run tokensync <command> --help for its flags.',
  ].join('\n');
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exit(name ? 0 : 2);
}
const command = commands[name];
if (!command) {
  console.error(`tokensync: unknown command "${name}"\n\n${usage()}`);
  process.exit(2);
}
const code = await (await command.load()).run(rest);
process.exitCode = code;
