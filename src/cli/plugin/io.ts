// What a plugin command touches besides Kubernetes, injectable for tests, and argument parsing from spec.ts.
import { parseArgs } from 'node:util';
import { dateOf, realClock } from '../../clock.ts';
import { type CommandSpec, parseArgsOptions } from './spec.ts';
import type { GlobalFlags } from './target.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  env: Record<string, string | undefined>;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
  env: process.env,
  now: () => dateOf(realClock),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class UsageError extends Error {}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** node:util parseArgs over the command's flags (spec.ts), with usage errors as UsageError. */
export function parse(argv: string[], command: CommandSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: parseArgsOptions(command),
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export const stringFlag = (p: Parsed, name: string): string | undefined =>
  typeof p.values[name] === 'string' ? (p.values[name] as string) : undefined;
export const booleanFlag = (p: Parsed, name: string): boolean => p.values[name] === true;

export function globalFlags(p: Parsed): GlobalFlags {
  const flags: GlobalFlags = {};
  const kubeconfig = stringFlag(p, 'kubeconfig');
  const context = stringFlag(p, 'context');
  const namespace = stringFlag(p, 'namespace');
  if (kubeconfig) flags.kubeconfig = kubeconfig;
  if (context) flags.context = context;
  if (namespace) flags.namespace = namespace;
  if (booleanFlag(p, 'all-namespaces')) flags.allNamespaces = true;
  return flags;
}

/** -n and -A together are ambiguous, as in kubectl. */
export function rejectNamespaceAndAll(p: Parsed): void {
  if (stringFlag(p, 'namespace') && booleanFlag(p, 'all-namespaces')) throw new UsageError('use -n or -A, not both');
}
