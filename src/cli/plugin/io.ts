// What a plugin command touches besides Kubernetes, injectable for tests.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { GlobalFlags } from './kube.ts';

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
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The kubectl-style flags every subcommand accepts. */
export const GLOBAL_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export class UsageError extends Error {}

/** node:util parseArgs, with usage errors as UsageError. */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function globalFlags(values: Record<string, unknown>): GlobalFlags {
  const flags: GlobalFlags = {};
  if (typeof values['kubeconfig'] === 'string') flags.kubeconfig = values['kubeconfig'];
  if (typeof values['context'] === 'string') flags.context = values['context'];
  if (typeof values['namespace'] === 'string') flags.namespace = values['namespace'];
  if (values['all-namespaces'] === true) flags.allNamespaces = true;
  return flags;
}
