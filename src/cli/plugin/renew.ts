// kubectl tokensync renew (NAME... | -l SELECTOR | --all) [-n NS | -A] [--wait] [--timeout 60s]
import { RENEW_ANNOTATION, type ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import { isNotFound } from '../../kube/client.ts';
import {
  booleanFlag,
  globalFlags,
  type Io,
  type Parsed,
  parse,
  processIo,
  rejectNamespaceAndAll,
  stringFlag,
  UsageError,
} from './io.ts';
import { COMMANDS, flagHelp } from './spec.ts';
import { resolveTarget, type Target } from './target.ts';

const spec = COMMANDS['renew']!;

export const usage = `Usage: kubectl tokensync renew NAME... [-n NAMESPACE] [--wait] [--timeout 60s]
       kubectl tokensync renew -l SELECTOR | --all [-n NAMESPACE | -A] [--wait] [--timeout 60s]

Rotates tokens now: sets the ${RENEW_ANNOTATION} annotation to the current time. With --wait, waits until
the controller has acted on each (status.lastRenewRequest) and it is Ready again; exit 1 if one is not within
--timeout (which bounds the whole wait, not each token).

${flagHelp(spec)}`;

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

/** Which tokens the arguments select: names, a label selector or --all, exactly one of them. Pure. */
export type Selection = { by: 'names'; names: string[] } | { by: 'selector'; selector: string } | { by: 'all' };

export function selectionOf(args: Parsed): Selection {
  const selector = stringFlag(args, 'selector');
  const all = booleanFlag(args, 'all');
  const names = args.positionals;
  const given = [names.length > 0, selector !== undefined, all].filter(Boolean).length;
  if (given === 0) throw new UsageError('say which tokens: NAME..., -l SELECTOR or --all');
  if (given > 1) throw new UsageError('use only one of NAME..., -l SELECTOR and --all');
  if (names.length > 0) {
    if (booleanFlag(args, 'all-namespaces')) throw new UsageError('NAME needs one namespace: use -n, not -A');
    return { by: 'names', names: [...new Set(names)] };
  }
  if (selector !== undefined) {
    if (!selector.trim()) throw new UsageError('-l needs a selector, e.g. -l team=payments');
    return { by: 'selector', selector };
  }
  return { by: 'all' };
}

const ref = (sat: ServiceAccountToken) => `${sat.metadata.namespace}/${sat.metadata.name}`;

/** The tokens a selector or --all selects, in the target's namespace (or all). */
function listSelected(target: Target, selection: Selection): Promise<ServiceAccountToken[]> {
  return target.tokens.list(target.namespace, {
    labelSelector: selection.by === 'selector' ? selection.selector : undefined,
  });
}

async function resolveSelection(target: Target, selection: Selection, io: Io): Promise<ServiceAccountToken[]> {
  if (selection.by !== 'names') return listSelected(target, selection);
  const found: ServiceAccountToken[] = [];
  for (const name of selection.names) {
    const sat = await target.tokens.get(target.namespace!, name);
    if (sat) found.push(sat);
    else io.err(`Error: serviceaccounttoken "${name}" not found in namespace "${target.namespace}"\n`);
  }
  return found;
}

/**
 * The waited-for tokens as they are now: one GET each when named, one LIST per round for a selector or --all (a bulk
 * renew of hundreds of tokens polls with one request, not hundreds). Missing from the map = deleted.
 */
async function currentStates(
  target: Target,
  selection: Selection,
  pending: Map<string, ServiceAccountToken>,
): Promise<Map<string, ServiceAccountToken>> {
  const out = new Map<string, ServiceAccountToken>();
  if (selection.by === 'names') {
    for (const [key, sat] of pending) {
      const current = await target.tokens.get(sat.metadata.namespace!, sat.metadata.name);
      if (current) out.set(key, current);
    }
    return out;
  }
  for (const sat of await listSelected(target, selection)) {
    out.set(ref(sat), sat);
  }
  return out;
}

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const args = parse(argv, spec);
  if (booleanFlag(args, 'help')) {
    io.out(usage);
    return 0;
  }
  rejectNamespaceAndAll(args);
  const selection = selectionOf(args);
  const timeoutText = stringFlag(args, 'timeout') ?? '60s';
  const timeoutMs = parseTimeout(timeoutText);
  const target = resolveTarget(globalFlags(args));
  const selected = await resolveSelection(target, selection, io);
  let failed = selection.by === 'names' ? selection.names.length - selected.length : 0;
  if (selected.length === 0) {
    if (selection.by !== 'names') {
      const where = target.namespace ? ` in namespace ${target.namespace}` : '';
      io.err(`No ServiceAccountTokens${where}${selection.by === 'selector' ? ` match ${selection.selector}` : ''}.\n`);
    }
    return failed > 0 ? 1 : 0;
  }

  const stamp = renewStamp(io.now());
  const pending = new Map<string, ServiceAccountToken>();
  for (const sat of selected) {
    if (sat.metadata.deletionTimestamp) {
      io.err(`serviceaccounttoken.tokensync.io/${sat.metadata.name} is being deleted (${ref(sat)}): skipped\n`);
      continue;
    }
    try {
      await target.tokens.annotate(sat.metadata.namespace!, sat.metadata.name, { [RENEW_ANNOTATION]: stamp });
      io.out(`serviceaccounttoken.tokensync.io/${sat.metadata.name} renew requested at ${stamp}\n`);
      pending.set(ref(sat), sat);
    } catch (error) {
      failed++;
      if (!isNotFound(error)) throw error;
      io.err(
        `Error: serviceaccounttoken "${sat.metadata.name}" disappeared from namespace "${sat.metadata.namespace}"\n`,
      );
    }
  }
  if (!booleanFlag(args, 'wait') || pending.size === 0) return failed > 0 ? 1 : 0;

  const deadline = io.now().getTime() + timeoutMs;
  const why = new Map<string, string>();
  for (let delay = 250; pending.size > 0; delay = Math.min(delay * 2, 2000)) {
    const current = await currentStates(target, selection, pending);
    for (const [key, sat] of pending) {
      const now = current.get(key);
      if (!now) {
        pending.delete(key);
        failed++;
        io.err(
          `serviceaccounttoken.tokensync.io/${sat.metadata.name} (${key}) is gone while waiting (deleted, or no longer selected)\n`,
        );
        continue;
      }
      const state = renewState(now, stamp);
      if (state.done) {
        pending.delete(key);
        io.out(`serviceaccounttoken.tokensync.io/${sat.metadata.name} renewed\n`);
      } else why.set(key, state.why);
    }
    if (pending.size === 0 || io.now().getTime() >= deadline) break;
    await io.sleep(Math.min(delay, Math.max(0, deadline - io.now().getTime())));
  }
  for (const key of pending.keys()) io.err(`timed out after ${timeoutText} waiting for ${key}: ${why.get(key)}\n`);
  return pending.size > 0 || failed > 0 ? 1 : 0;
}
