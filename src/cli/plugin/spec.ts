// What each `kubectl tokensync` command accepts: one table that argument parsing (io.ts), the help text and shell
// completion (completion.ts) all read, so a flag added here is parsed, documented and completed at once.
import type { ParseArgsConfig } from 'node:util';

/** What a flag's value or a positional argument is, so completion knows what to offer. */
export type ValueKind =
  | 'token' // a ServiceAccountToken name in the target namespace
  | 'namespace'
  | 'context' // a kubeconfig context
  | 'file'
  | 'provider' // a CredentialsProvider or ClusterCredentialsProvider name
  | 'shell'
  | 'none'; // free text: nothing to offer

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** For string flags: what the value is, and its name in help (default VALUE). */
  value?: ValueKind;
  metavar?: string;
  help: string;
}

export interface CommandSpec {
  summary: string;
  flags: Record<string, FlagSpec>;
  /** What positional arguments are and how many: 0, 1, or any number. */
  positional: { kind: ValueKind; max: number; name: string } | undefined;
  /** Also takes kubectl's connection and namespace flags. */
  kube: boolean;
  /** Not listed in help or completion (the `__complete` protocol entry point). */
  hidden?: boolean;
}

/** kubectl's flags, accepted by every command that talks to the cluster. */
export const KUBE_FLAGS: Record<string, FlagSpec> = {
  kubeconfig: { type: 'string', value: 'file', metavar: 'PATH', help: 'Path to the kubeconfig file.' },
  context: { type: 'string', value: 'context', metavar: 'NAME', help: 'The kubeconfig context to use.' },
  namespace: {
    type: 'string',
    short: 'n',
    value: 'namespace',
    metavar: 'NAMESPACE',
    help: "Namespace (default: the context's namespace, else default).",
  },
  'all-namespaces': { type: 'boolean', short: 'A', help: 'All namespaces.' },
};

export const HELP_FLAG: Record<string, FlagSpec> = { help: { type: 'boolean', short: 'h', help: 'Show help.' } };

const SELECTOR: FlagSpec = {
  type: 'string',
  short: 'l',
  value: 'none',
  metavar: 'SELECTOR',
  help: 'Label selector, as kubectl takes it (app=web,tier!=db).',
};

export const COMMANDS: Record<string, CommandSpec> = {
  status: {
    summary: 'Show ServiceAccountTokens: Ready, Secret, expiry, next renewal.',
    flags: { selector: SELECTOR },
    positional: { kind: 'token', max: 1, name: 'NAME' },
    kube: true,
  },
  renew: {
    summary: 'Rotate tokens now: by name, by label selector or all (optionally wait until done).',
    flags: {
      selector: SELECTOR,
      all: { type: 'boolean', help: 'Every ServiceAccountToken in the namespace (or in all, with -A).' },
      wait: { type: 'boolean', help: 'Wait until the controller has rotated each token and it is Ready again.' },
      timeout: {
        type: 'string',
        value: 'none',
        metavar: 'DURATION',
        help: 'How long --wait waits in all (default 60s).',
      },
    },
    positional: { kind: 'token', max: Number.POSITIVE_INFINITY, name: 'NAME' },
    kube: true,
  },
  'revoke-orphans': {
    summary: 'Find and revoke upstream tokens no ServiceAccountToken holds (providers that can list them).',
    flags: {
      'dry-run': { type: 'boolean', help: 'Only print what would be revoked.' },
      provider: { type: 'string', value: 'provider', metavar: 'NAME', help: 'Only this provider (by name).' },
      'include-ownerless': {
        type: 'boolean',
        help: 'Also revoke tokens whose ServiceAccountToken no longer exists.',
      },
      'egress-allow': {
        type: 'string',
        metavar: 'ENTRY,...',
        help: 'Addresses, CIDRs or host names providers may be reached at although the egress policy denies them (as the controller flag).',
      },
    },
    positional: undefined,
    kube: true,
  },
  completion: {
    summary: 'Print a shell completion script (bash, zsh or fish).',
    flags: {},
    positional: { kind: 'shell', max: 1, name: 'SHELL' },
    kube: false,
  },
  version: { summary: 'Print the plugin version.', flags: {}, positional: undefined, kube: false },
  __complete: {
    summary: 'Shell completion protocol (cobra-compatible, what kubectl_complete-tokensync runs).',
    flags: {},
    positional: { kind: 'none', max: Number.POSITIVE_INFINITY, name: 'ARGS' },
    kube: false,
    hidden: true,
  },
};

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** Every flag a command accepts, in the shape node:util parseArgs takes. */
export function flagsOf(command: CommandSpec): Record<string, FlagSpec> {
  return { ...(command.kube ? KUBE_FLAGS : {}), ...command.flags, ...HELP_FLAG };
}

export function parseArgsOptions(command: CommandSpec): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(flagsOf(command)).map(([name, f]) => [
      name,
      { type: f.type, ...(f.short ? { short: f.short } : {}) },
    ]),
  );
}

/** The "Flags:" block of a command's help. */
export function flagHelp(command: CommandSpec): string {
  const rows = Object.entries(flagsOf(command)).map(([name, f]) => {
    const names = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.metavar ?? 'VALUE'}` : ''}`;
    return `  ${names.padEnd(28)}${f.help}`;
  });
  return `Flags:\n${rows.join('\n')}\n`;
}
