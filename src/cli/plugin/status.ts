// kubectl tokensync status [NAME] [-l SELECTOR] [-n NS | -A]
import { renderStatus, useColour } from './format.ts';
import { globalFlags, type Io, parse, processIo, rejectNamespaceAndAll, stringFlag, UsageError } from './io.ts';
import { COMMANDS, flagHelp } from './spec.ts';
import { resolveTarget } from './target.ts';

const spec = COMMANDS['status']!;

export const usage = `Usage: kubectl tokensync status [NAME | -l SELECTOR] [-n NAMESPACE | -A]

Lists ServiceAccountTokens with their Secret, expiry and next renewal; NAME shows one. On a terminal (and NO_COLOR
unset), rows are yellow when the token expires within 24h and red when it has expired or is not Ready.

${flagHelp(spec)}`;

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const args = parse(argv, spec);
  if (args.values['help']) {
    io.out(usage);
    return 0;
  }
  rejectNamespaceAndAll(args);
  const selector = stringFlag(args, 'selector');
  if (args.positionals.length > 1)
    throw new UsageError(`status takes at most one NAME, got "${args.positionals.join(' ')}"`);
  const name = args.positionals[0];
  if (name && selector) throw new UsageError('use NAME or -l, not both');
  if (name && args.values['all-namespaces']) throw new UsageError('NAME needs one namespace: use -n, not -A');
  const target = resolveTarget(globalFlags(args));
  if (name) {
    const namespace = target.namespace!;
    const sat = await target.tokens.get(namespace, name);
    if (!sat) {
      io.err(`Error: serviceaccounttoken "${name}" not found in namespace "${namespace}"\n`);
      return 1;
    }
    io.out(renderStatus([sat], io.now(), useColour(io.isTTY, io.env)));
    return 0;
  }
  const sats = await target.tokens.list(target.namespace, { labelSelector: selector });
  if (sats.length === 0) {
    const where = target.namespace ? ` in namespace ${target.namespace}` : '';
    io.err(`No ServiceAccountTokens${where}${selector ? ` match ${selector}` : ''}.\n`);
    return 0;
  }
  io.out(renderStatus(sats, io.now(), useColour(io.isTTY, io.env)));
  return 0;
}
