// Shell completion. One engine answers cobra's `__complete` protocol (candidate lines, optionally "value\tdescription",
// then ":<directive>"), which is what kubectl runs for a plugin through a `kubectl_complete-tokensync` executable, and
// what the bash, zsh and fish scripts below call for `kubectl-tokensync` itself. Commands and flags come from spec.ts;
// names (tokens, namespaces, contexts, providers) from the cluster, through lookups the caller injects.

import { COMMANDS, type CommandSpec, flagsOf, SHELLS, type ValueKind } from './spec.ts';
import type { GlobalFlags } from './target.ts';

/** cobra's ShellCompDirective bits. */
export const Directive = { Default: 0, Error: 1, NoSpace: 2, NoFileComp: 4 } as const;

export interface Lookups {
  tokens(flags: GlobalFlags): Promise<string[]>;
  namespaces(flags: GlobalFlags): Promise<string[]>;
  contexts(flags: GlobalFlags): Promise<string[]>;
  providers(flags: GlobalFlags): Promise<string[]>;
}

export interface Completion {
  /** "value" or "value\tdescription". */
  candidates: string[];
  directive: number;
}

/** What the words before the cursor say: flags given (with values), positionals, a flag waiting for its value. */
interface Scan {
  flags: GlobalFlags;
  used: Set<string>;
  positionals: string[];
  awaiting: string | undefined;
}

function scan(command: CommandSpec, words: string[]): Scan {
  const flags = flagsOf(command);
  const byShort = new Map(Object.entries(flags).flatMap(([name, f]) => (f.short ? [[f.short, name] as const] : [])));
  const out: Scan = { flags: {}, used: new Set(), positionals: [], awaiting: undefined };
  const set = (name: string, value: string | true) => {
    out.used.add(name);
    if (name === 'kubeconfig' && typeof value === 'string') out.flags.kubeconfig = value;
    if (name === 'context' && typeof value === 'string') out.flags.context = value;
    if (name === 'namespace' && typeof value === 'string') out.flags.namespace = value;
    if (name === 'all-namespaces') out.flags.allNamespaces = true;
  };
  for (const word of words) {
    if (out.awaiting) {
      set(out.awaiting, word);
      out.awaiting = undefined;
    } else if (word.startsWith('--') && word.length > 2) {
      const [name, value] = splitOnce(word.slice(2), '=');
      const flag = flags[name];
      if (flag?.type === 'string' && value === undefined) out.awaiting = name;
      else if (flag) set(name, value ?? true);
    } else if (word.startsWith('-') && word.length > 1) {
      // -A, -n NS, -nNS, -Ah: booleans may be bundled; a string flag takes the rest of the word or the next word.
      for (let i = 1; i < word.length; i++) {
        const name = byShort.get(word[i]!);
        if (!name) break;
        if (flags[name]!.type === 'boolean') set(name, true);
        else {
          const rest = word.slice(i + 1);
          if (rest) set(name, rest);
          else out.awaiting = name;
          break;
        }
      }
    } else out.positionals.push(word);
  }
  return out;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

async function valuesOf(kind: ValueKind, flags: GlobalFlags, lookups: Lookups): Promise<Completion> {
  const noFiles = (candidates: string[]) => ({ candidates, directive: Directive.NoFileComp });
  try {
    switch (kind) {
      case 'token':
        return noFiles(await lookups.tokens(flags));
      case 'namespace':
        return noFiles(await lookups.namespaces(flags));
      case 'context':
        return noFiles(await lookups.contexts(flags));
      case 'provider':
        return noFiles(await lookups.providers(flags));
      case 'shell':
        return noFiles([...SHELLS]);
      case 'file':
        return { candidates: [], directive: Directive.Default };
      case 'none':
        return noFiles([]);
    }
  } catch {
    // No cluster, no permission, a slow API server: offer nothing rather than break the prompt.
    return noFiles([]);
  }
}

const matching = (prefix: string, candidates: string[]) =>
  candidates.filter((c) => c.split('\t')[0]!.startsWith(prefix));

/**
 * Completes `args` (the words after the program name; the last one is the word under the cursor, possibly empty).
 */
export async function complete(args: string[], lookups: Lookups): Promise<Completion> {
  const words = args.length > 0 ? args : [''];
  const current = words.at(-1)!;
  const before = words.slice(0, -1);
  if (before.length === 0) {
    const names = Object.entries(COMMANDS)
      .filter(([, c]) => !c.hidden)
      .map(([name, c]) => `${name}\t${c.summary}`);
    return {
      candidates: matching(current, current.startsWith('-') ? ['--help\tShow help.'] : names),
      directive: Directive.NoFileComp,
    };
  }
  const command = COMMANDS[before[0]!];
  if (!command || command.hidden) return { candidates: [], directive: Directive.NoFileComp };
  const state = scan(command, before.slice(1));
  const flags = flagsOf(command);

  const finish = (c: Completion, prefix = '') => ({
    candidates: matching(
      current,
      c.candidates.map((v) => prefix + v),
    ),
    directive: c.directive,
  });

  if (state.awaiting) return finish(await valuesOf(flags[state.awaiting]!.value ?? 'none', state.flags, lookups));
  if (current.startsWith('--') && current.includes('=')) {
    const [name] = splitOnce(current.slice(2), '=');
    const flag = flags[name];
    if (flag?.type !== 'string') return { candidates: [], directive: Directive.NoFileComp };
    return finish(await valuesOf(flag.value ?? 'none', state.flags, lookups), `--${name}=`);
  }
  if (current.startsWith('-')) {
    const offered = Object.entries(flags)
      .filter(([name]) => !state.used.has(name))
      .map(([name, f]) => `--${name}\t${f.help}`);
    return finish({ candidates: offered, directive: Directive.NoFileComp });
  }
  const positional = command.positional;
  if (!positional || state.positionals.length >= positional.max) {
    return { candidates: [], directive: Directive.NoFileComp };
  }
  const values = await valuesOf(positional.kind, state.flags, lookups);
  const given = new Set(state.positionals);
  return finish({ ...values, candidates: values.candidates.filter((v) => !given.has(v)) });
}

/** The `__complete` output: candidates, then ":directive". */
export const renderCompletion = (c: Completion): string => `${[...c.candidates, `:${c.directive}`].join('\n')}\n`;

const BASH = `# bash completion for kubectl-tokensync. Load it with:
#   source <(kubectl-tokensync completion bash)
# (or save it into ~/.local/share/bash-completion/completions/kubectl-tokensync). For \`kubectl tokensync <TAB>\`,
# put kubectl_complete-tokensync (installed with the plugin) on PATH and load kubectl's own completion.
_kubectl_tokensync() {
  local cur words cword
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref -n =: cur words cword
  else
    cur=\${COMP_WORDS[COMP_CWORD]} words=("\${COMP_WORDS[@]}") cword=$COMP_CWORD
  fi
  local out
  out=$("\${words[0]}" __complete "\${words[@]:1:cword-1}" "$cur" 2>/dev/null) || return 0
  local -a lines=()
  local line directive=0
  while IFS= read -r line; do lines+=("$line"); done <<<"$out"
  if [[ \${#lines[@]} -gt 0 && \${lines[-1]} == :* ]]; then
    directive=\${lines[-1]#:}
    unset 'lines[-1]'
  fi
  # With "--flag=value", bash's current word is only what follows "=" (when = is a word break).
  local strip=
  [[ $cur == --*=* && $COMP_WORDBREAKS == *=* ]] && strip=\${cur%%=*}=
  COMPREPLY=()
  for line in "\${lines[@]}"; do
    line=\${line%%$'\\t'*}
    [[ -n $line && $line == "$cur"* ]] && COMPREPLY+=("\${line#"$strip"}")
  done
  if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
  if (( \${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then compopt -o default 2>/dev/null; fi
  return 0
}
complete -F _kubectl_tokensync kubectl-tokensync
`;

const ZSH = `#compdef kubectl-tokensync
# zsh completion for kubectl-tokensync. Load it with (after compinit):
#   source <(kubectl-tokensync completion zsh)
# or save it as _kubectl-tokensync in a directory on $fpath.
_kubectl-tokensync() {
  local out line value desc last
  local -a lines completions
  local -i directive=0
  out=$("\${words[1]}" __complete "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  last=\${lines[-1]}
  if [[ $last == :* ]]; then
    directive=\${last#:}
    lines=("\${(@)lines[1,-2]}")
  fi
  for line in "\${lines[@]}"; do
    [[ -z $line ]] && continue
    value=\${line%%$'\\t'*}
    desc=
    [[ $line == *$'\\t'* ]] && desc=\${line#*$'\\t'}
    completions+=("\${value//:/\\\\:}\${desc:+:$desc}")
  done
  if (( \${#completions} )); then
    if (( directive & 2 )); then
      _describe -t values 'kubectl-tokensync' completions -S ''
    else
      _describe -t values 'kubectl-tokensync' completions
    fi
  elif (( (directive & 4) == 0 )); then
    _files
  else
    return 1
  fi
}
if [[ $funcstack[1] == _kubectl-tokensync ]]; then
  _kubectl-tokensync "$@"
else
  compdef _kubectl-tokensync kubectl-tokensync
fi
`;

const FISH = `# fish completion for kubectl-tokensync. Load it with:
#   kubectl-tokensync completion fish | source
# or save it as ~/.config/fish/completions/kubectl-tokensync.fish.
function __kubectl_tokensync_complete
    set -l args (commandline -opc)
    set -e args[1]
    set -l cur (commandline -ct)
    set -l directive 0
    set -l found 0
    for line in (kubectl-tokensync __complete $args "$cur" 2>/dev/null)
        if string match -qr '^:[0-9]+$' -- $line
            set directive (string sub -s 2 -- $line)
        else if test -n "$line"
            set found 1
            echo $line
        end
    end
    if test $found -eq 0; and test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path $cur
    end
end
complete -c kubectl-tokensync -f -a '(__kubectl_tokensync_complete)'
`;

export function completionScript(shell: string): string | undefined {
  return { bash: BASH, zsh: ZSH, fish: FISH }[shell];
}
