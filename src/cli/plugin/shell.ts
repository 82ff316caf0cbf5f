// kubectl tokensync completion SHELL, and the hidden `__complete` entry point the completion scripts and
// kubectl_complete-tokensync call.
import { complete, completionScript, type Lookups, renderCompletion } from './completion.ts';
import { booleanFlag, type Io, parse, processIo, UsageError } from './io.ts';
import { COMMANDS, flagHelp, SHELLS } from './spec.ts';
import { contextNames, resolveTarget } from './target.ts';

const spec = COMMANDS['completion']!;

export const usage = `Usage: kubectl-tokensync completion ${SHELLS.join('|')}

Prints a completion script for kubectl-tokensync:
  bash:  source <(kubectl-tokensync completion bash)
  zsh:   source <(kubectl-tokensync completion zsh)        (after compinit)
  fish:  kubectl-tokensync completion fish | source

For \`kubectl tokensync <TAB>\` (kubectl 1.26 and later), put kubectl_complete-tokensync, installed next to
kubectl-tokensync, on PATH and load kubectl's own completion (kubectl completion bash|zsh|fish).

${flagHelp(spec)}`;

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const args = parse(argv, spec);
  if (booleanFlag(args, 'help')) {
    io.out(usage);
    return 0;
  }
  const [shell, ...rest] = args.positionals;
  if (!shell || rest.length > 0) throw new UsageError(`completion takes one shell: ${SHELLS.join(', ')}`);
  const script = completionScript(shell);
  if (!script) throw new UsageError(`unsupported shell "${shell}": use ${SHELLS.join(', ')}`);
  io.out(script);
  return 0;
}

/** Completion asks the cluster at most this long per request: a prompt must not hang on an unreachable server. */
const LOOKUP_TIMEOUT_MS = 3000;

export const clusterLookups: Lookups = {
  tokens: async (flags) => {
    const target = resolveTarget(flags, LOOKUP_TIMEOUT_MS);
    return (await target.tokens.list(target.namespace)).map((s) => s.metadata.name);
  },
  namespaces: (flags) =>
    resolveTarget({ ...flags, allNamespaces: true }).namespaces.names({ timeoutMs: LOOKUP_TIMEOUT_MS }),
  contexts: async (flags) => contextNames(resolveTarget({ ...flags, context: undefined }).kc),
  providers: async (flags) => {
    const target = resolveTarget(flags, LOOKUP_TIMEOUT_MS);
    const names = (await target.providers.list(target.namespace)).map((p) => p.metadata.name);
    if (!target.namespace) names.push(...(await target.providers.listCluster()).map((p) => p.metadata.name));
    return [...new Set(names)].sort();
  },
};

/** `__complete ARGS... CURRENT`: never fails; the last line is always the directive. */
export async function runComplete(argv: string[], io: Io = processIo, lookups: Lookups = clusterLookups) {
  io.out(renderCompletion(await complete(argv, lookups)));
  return 0;
}
