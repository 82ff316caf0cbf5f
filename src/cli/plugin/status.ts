// kubectl tokensync status [-n NS | -A]
import { renderStatus, useColour } from './format.ts';
import { globalFlags, type Io, parse, processIo, UsageError } from './io.ts';
import { listTokens, resolveTarget } from './kube.ts';

export const usage = `Usage: kubectl tokensync status [-n NAMESPACE | -A] [--kubeconfig PATH] [--context NAME]

Lists ServiceAccountTokens with their Secret, expiry and next renewal. On a terminal (and NO_COLOR unset), rows
are yellow when the token expires within 24h and red when it has expired or is not Ready.
`;

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) {
    io.out(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`status takes no arguments, got "${positionals.join(' ')}"`);
  if (values.namespace && values['all-namespaces']) throw new UsageError('use -n or -A, not both');
  const target = resolveTarget(globalFlags(values));
  const sats = await listTokens(target);
  if (sats.length === 0) {
    io.err(
      target.namespace ? `No ServiceAccountTokens in namespace ${target.namespace}.\n` : 'No ServiceAccountTokens.\n',
    );
    return 0;
  }
  io.out(renderStatus(sats, io.now(), useColour(io.isTTY, io.env)));
  return 0;
}
