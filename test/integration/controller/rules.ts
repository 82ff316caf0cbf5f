// The lifecycle rules R1–R4 (docs/architecture.md) as checks a test runs against the real API server and the
// credentials API's own list of live tokens. Each returns what violates the rule, so a failure names the token.
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { openJournal } from '../../../src/controller/token/journal.ts';
import { kubeRequest } from '../../../src/kube/client.ts';
import { type Harness, isReady } from './harness.ts';

/** Every ServiceAccountToken in the cluster (admin identity, live read). */
export async function allTokens(h: Harness, namespace?: string): Promise<ServiceAccountToken[]> {
  const scope = namespace ? `/namespaces/${namespace}` : '';
  const list = await kubeRequest<{ items: ServiceAccountToken[] }>(h.kc, {
    method: 'GET',
    path: `/apis/tokensync.io/v1alpha1${scope}/serviceaccounttokens`,
  });
  return list.items;
}

/**
 * The upstream tokens a resource references, as `serviceAccount/name` (the reference API's ids are names): the
 * current one, the retiring ones, and the one an open journal says may have been minted.
 */
export function references(sat: ServiceAccountToken): string[] {
  const sa = sat.spec.serviceAccount ?? '';
  const status = sat.status ?? {};
  const names = new Set<string>();
  if (status.tokenName) names.add(status.tokenName);
  for (const t of status.retiring ?? []) names.add(t.name ?? t.tokenId);
  const journal = openJournal(sat);
  if (journal) names.add(journal.name);
  return [...names].map((n) => `${sa}/${n}`);
}

export interface LiveToken {
  serviceAccountId: string;
  name: string;
}

/**
 * R1 at this instant: live upstream tokens that no resource references. Call it while nothing is in flight (the
 * controller stopped or killed, or settled), otherwise a mint between the two reads looks like a leak.
 * `include` narrows the live list to the tokens this test minted.
 */
export async function leaks(h: Harness, include: (t: LiveToken) => boolean = () => true): Promise<string[]> {
  const live = (await h.liveTokens()).filter(include).map((t) => `${t.serviceAccountId}/${t.name}`);
  const referenced = new Set((await allTokens(h)).flatMap(references));
  return live.filter((t) => !referenced.has(t)).sort();
}

/**
 * The settled state of R1: the live tokens are exactly the current tokens of the resources (nothing retiring,
 * nothing pending), and every resource is Ready with its Secret holding a token the credentials API accepts.
 * Returns what differs; empty means settled.
 */
export async function unsettled(
  h: Harness,
  options: { namespaces?: string[]; include?: (t: LiveToken) => boolean; secretKey?: string } = {},
): Promise<string[]> {
  const include = options.include ?? (() => true);
  const tokens = (await allTokens(h)).filter(
    (t) => !options.namespaces || options.namespaces.includes(t.metadata.namespace!),
  );
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const sat of tokens) {
    const id = `${sat.metadata.namespace}/${sat.metadata.name}`;
    if (sat.metadata.deletionTimestamp) {
      problems.push(`${id} is still being deleted`);
      continue;
    }
    if (!isReady(sat)) {
      const ready = sat.status?.conditions?.find((c) => c.type === 'Ready');
      problems.push(`${id} not Ready: ${ready?.reason}: ${ready?.message}`);
      continue;
    }
    if (openJournal(sat)) problems.push(`${id} has an open journal`);
    if (sat.status?.retiring?.length) problems.push(`${id} still retires ${sat.status.retiring.length} token(s)`);
    expected.add(`${sat.spec.serviceAccount}/${sat.status!.tokenName}`);
    const data = await h.getSecretData(sat.metadata.namespace!, sat.status!.secretName!);
    const value = data?.[options.secretKey ?? 'token'];
    if (!value) problems.push(`${id}: Secret ${sat.status!.secretName} is missing or empty`);
    else if (!(await h.introspect(value)).active) problems.push(`${id}: its Secret holds a token that is not live`);
  }
  const live = (await h.liveTokens()).filter(include).map((t) => `${t.serviceAccountId}/${t.name}`);
  for (const t of live) if (!expected.has(t)) problems.push(`live upstream but not current: ${t}`);
  for (const t of expected) if (!live.includes(t)) problems.push(`current but not live upstream: ${t}`);
  return problems;
}

/** The Ready condition, for messages. */
export function readyOf(sat: ServiceAccountToken | undefined) {
  return sat?.status?.conditions?.find((c) => c.type === 'Ready');
}

export function conditionOf(sat: ServiceAccountToken | undefined, type: string) {
  return sat?.status?.conditions?.find((c) => c.type === type);
}
