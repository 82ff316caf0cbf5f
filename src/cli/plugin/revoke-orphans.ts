// kubectl tokensync revoke-orphans [--dry-run] [-n NS | -A] [--provider NAME] [--include-ownerless]
import type { AnyProvider, ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import { parseDuration } from '../../controller/durations.ts';
import { createProviderClient } from '../../providers/registry.ts';
import { SecretValue } from '../../providers/secret-value.ts';
import { buildEgressPolicy, type EgressPolicy, egressPolicyFor } from '../../providers/transport/egress-policy.ts';
import type { ProviderClient, ResolvedProviderConfig } from '../../providers/types.ts';
import { renderTable } from './format.ts';
import { globalFlags, type Io, parse, processIo, UsageError } from './io.ts';
import { listClusterProviders, listProviders, listTokens, readSecretKey, resolveTarget, type Target } from './kube.ts';
import { classifyTokens, serviceAccountsOf, type Verdict } from './orphans.ts';

/** Provider types whose API lists a service account's tokens by name (the others cannot be audited this way). */
export const LISTABLE_TYPES = new Set(['reference', 'iomete']);

export const usage = `Usage: kubectl tokensync revoke-orphans [--dry-run] [-n NAMESPACE | -A] [--provider NAME]
                                     [--include-ownerless] [--egress-allow ENTRY,...]

Finds upstream tokens that tokensync minted (named <prefix>-<uid8>-r<revision>) and that no ServiceAccountToken
holds any more (not current, not retiring, not a pending mint), for providers of type ${[...LISTABLE_TYPES].join(' and ')},
and revokes them. --dry-run only prints them.

Tokens whose ServiceAccountToken no longer exists are listed but revoked only with --include-ownerless: a resource
deleted with deletionPolicy Retain leaves its tokens live on purpose.

Needs to read the providers' management-credential Secrets: run it with an identity that may.

Provider URLs are chosen by whoever may create a provider, so this command applies the controller's egress policy
from where it runs: loopback, link-local and private addresses are refused unless --egress-allow lists them (same
syntax as the controller flag: addresses, CIDRs, host names, *.domain; a ClusterCredentialsProvider's
spec.egress.allow applies too).
`;

export interface ProviderTarget {
  provider: AnyProvider;
  key: string;
  /** ServiceAccountTokens that reference this provider. */
  resources: ServiceAccountToken[];
}

/** Which providers to audit, and their resources. Pure. */
export function providerTargets(
  providers: AnyProvider[],
  sats: ServiceAccountToken[],
  only?: string,
): ProviderTarget[] {
  return providers
    .filter((p) => LISTABLE_TYPES.has(p.spec.type) && (!only || p.metadata.name === only))
    .map((provider) => {
      const cluster = provider.kind === 'ClusterCredentialsProvider';
      const key = cluster
        ? `cluster/${provider.metadata.name}`
        : `${provider.metadata.namespace}/${provider.metadata.name}`;
      const resources = sats.filter((s) => {
        const ref = s.spec.providerRef;
        const kind = ref.kind ?? 'CredentialsProvider';
        if (ref.name !== provider.metadata.name) return false;
        return cluster
          ? kind === 'ClusterCredentialsProvider'
          : kind === 'CredentialsProvider' && s.metadata.namespace === provider.metadata.namespace;
      });
      return { provider, key, resources };
    });
}

async function clientFor(target: Target, provider: AnyProvider, egress: EgressPolicy): Promise<ProviderClient> {
  const ref = provider.spec.auth?.secretRef as { name: string; key: string; namespace?: string } | undefined;
  const namespace = ref?.namespace ?? provider.metadata.namespace;
  if (!ref || !namespace) throw new Error(`${provider.kind} ${provider.metadata.name} has no spec.auth.secretRef`);
  const credential = await readSecretKey(target.kc, namespace, ref.name, ref.key);
  if (credential === undefined)
    throw new Error(`management credential Secret ${namespace}/${ref.name} key ${ref.key} not found`);
  const spec = provider.spec;
  const config = {
    type: spec.type,
    ...(spec.url ? { url: spec.url } : {}),
    credential: new SecretValue(credential),
    ...(spec.iomete ? { iomete: spec.iomete } : {}),
    ...(spec.caBundle ? { caBundle: spec.caBundle } : {}),
    allowInsecureHttp: spec.allowInsecureHttp ?? false,
    rateLimit: { requestsPerSecond: spec.rateLimit?.requestsPerSecond ?? 5, burst: spec.rateLimit?.burst ?? 10 },
    timeoutMs: spec.timeout ? parseDuration(spec.timeout) : 10_000,
  } as ResolvedProviderConfig;
  return createProviderClient(config, { egress: egressPolicyFor(egress, provider) });
}

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    'dry-run': { type: 'boolean' },
    provider: { type: 'string' },
    'include-ownerless': { type: 'boolean' },
    'egress-allow': { type: 'string', multiple: true },
  });
  if (values.help) {
    io.out(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`revoke-orphans takes no arguments, got "${positionals.join(' ')}"`);
  const dryRun = Boolean(values['dry-run']);
  let egress: EgressPolicy;
  try {
    egress = buildEgressPolicy({ allow: (values['egress-allow'] ?? []).flatMap((v) => v.split(',')) });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const target = resolveTarget(globalFlags(values));

  // Owners are looked up among ALL ServiceAccountTokens: another provider object may share the upstream account.
  let allSats: ServiceAccountToken[];
  let complete = true;
  try {
    allSats = await listTokens({ kc: target.kc, namespace: undefined });
  } catch {
    complete = false;
    allSats = target.namespace ? await listTokens(target) : [];
  }
  if (!complete && values['include-ownerless']) {
    throw new UsageError(
      '--include-ownerless needs to list ServiceAccountTokens in all namespaces, which is forbidden',
    );
  }
  const providers: AnyProvider[] = [...(await listProviders(target))];
  if (!target.namespace) providers.push(...(await listClusterProviders(target.kc)));
  const targets = providerTargets(providers, allSats, values.provider);
  if (targets.length === 0) {
    io.err(`No provider of type ${[...LISTABLE_TYPES].join(' or ')} in scope.\n`);
    return 0;
  }

  const rows: string[][] = [];
  let failures = 0;
  let revocable = 0;
  for (const t of targets) {
    let client: ProviderClient | undefined;
    try {
      client = await clientFor(target, t.provider, egress);
      for (const sa of serviceAccountsOf(t.resources)) {
        const tokens = await client.list(sa);
        const verdicts = classifyTokens(tokens, allSats, { includeOwnerless: Boolean(values['include-ownerless']) });
        for (const v of verdicts.filter((x) => x.decision === 'superseded' || x.decision === 'ownerless')) {
          let action = v.revoke ? (dryRun ? 'would revoke' : 'revoked') : 'kept (use --include-ownerless)';
          if (v.revoke) revocable++;
          if (v.revoke && !dryRun) {
            try {
              await client.revoke({ id: v.token.id, name: v.token.name, serviceAccount: sa });
            } catch (error) {
              failures++;
              action = `revoke failed: ${(error as Error).message}`;
            }
          }
          rows.push(row(t.key, sa, v, action));
        }
      }
    } catch (error) {
      failures++;
      io.err(`${t.key}: ${(error as Error).message}\n`);
    } finally {
      await client?.close?.();
    }
  }
  if (rows.length === 0) io.out('No orphaned tokens.\n');
  else io.out(renderTable(['PROVIDER', 'SERVICE-ACCOUNT', 'TOKEN', 'OWNER', 'FINDING', 'ACTION'], rows));
  if (dryRun && revocable > 0) io.err(`${revocable} token(s) would be revoked; run without --dry-run to revoke.\n`);
  return failures > 0 ? 1 : 0;
}

function row(provider: string, sa: string, v: Verdict, action: string): string[] {
  return [provider, sa, v.token.name, v.owner ?? '-', v.decision, action];
}
