// kubectl tokensync renew NAME [-n NS] [--wait] [--timeout 60s]
import { RENEW_ANNOTATION, type ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import { globalFlags, type Io, parse, processIo, UsageError } from './io.ts';
import { annotateToken, getToken, resolveTarget } from './kube.ts';

export const usage = `Usage: kubectl tokensync renew NAME [-n NAMESPACE] [--wait] [--timeout 60s]

Rotates a token now: sets the ${RENEW_ANNOTATION} annotation to the current time. With --wait, waits until
the controller has acted on it (status.lastRenewRequest) and the resource is Ready again.
`;

/** "60s", "2m", "1m30s", "500ms" → milliseconds. */
export function parseTimeout(value: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = '';
  for (const m of value.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0];
  }
  if (!consumed || consumed !== value) throw new UsageError(`invalid duration "${value}" (examples: 60s, 2m, 1m30s)`);
  return total;
}

/** RFC 3339 with milliseconds: two renewals in the same second still differ. */
export const renewStamp = (now: Date): string => now.toISOString();

export type WaitState = { done: true } | { done: false; why: string };

/** Whether the controller has acted on the renew request `stamp` and the token is Ready again. */
export function renewState(sat: ServiceAccountToken, stamp: string): WaitState {
  const ready = sat.status?.conditions?.find((c) => c.type === 'Ready');
  if (sat.status?.lastRenewRequest !== stamp)
    return { done: false, why: 'the controller has not picked up the request yet' };
  if (ready?.status !== 'True') {
    return {
      done: false,
      why: `Ready=${ready?.status ?? 'Unknown'}${ready ? ` (${ready.reason}: ${ready.message})` : ''}`,
    };
  }
  return { done: true };
}

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(argv, { wait: { type: 'boolean' }, timeout: { type: 'string' } });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('renew takes exactly one ServiceAccountToken name');
  if (values['all-namespaces']) throw new UsageError('renew works on one namespace: use -n');
  const timeoutMs = parseTimeout(values.timeout ?? '60s');
  const name = positionals[0]!;
  const target = resolveTarget(globalFlags(values));
  const namespace = target.namespace!;
  const stamp = renewStamp(io.now());
  await annotateToken(target.kc, namespace, name, { [RENEW_ANNOTATION]: stamp });
  io.out(`serviceaccounttoken.tokensync.io/${name} renew requested at ${stamp}\n`);
  if (!values.wait) return 0;

  const deadline = io.now().getTime() + timeoutMs;
  let state: WaitState = { done: false, why: 'not checked' };
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    state = renewState(await getToken(target.kc, namespace, name), stamp);
    if (state.done) {
      io.out(`serviceaccounttoken.tokensync.io/${name} renewed\n`);
      return 0;
    }
    if (io.now().getTime() >= deadline) break;
    await io.sleep(Math.min(delay, Math.max(0, deadline - io.now().getTime())));
  }
  io.err(`timed out after ${values.timeout ?? '60s'} waiting for ${namespace}/${name}: ${state.why}\n`);
  return 1;
}
