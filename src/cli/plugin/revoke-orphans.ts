// kubectl tokensync revoke-orphans [--dry-run] [-n NS | -A] [--provider NAME] [--include-ownerless]
import type { AnyProvider, ServiceAccountToken } from '../../api/v1alpha1/index.ts';
import { ProviderResolver, providerKeyOf } from '../../controller/provider-resolver.ts';
import { buildEgressPolicy, type EgressPolicy } from '../../providers/transport/egress-policy.ts';
import type { ProviderClient } from '../../providers/types.ts';
import { renderTable } from './format.ts';
import {
  booleanFlag,
  globalFlags,
  type Io,
  parse,
  processIo,
  rejectNamespaceAndAll,
  stringFlag,
  UsageError,
} from './io.ts';
import { classifyTokens, serviceAccountsOf, type Verdict } from './orphans.ts';
import { COMMANDS, flagHelp } from './spec.ts';
import { resolveTarget, type Target } from './target.ts';

const spec = COMMANDS['revoke-orphans']!;

export const usage = `Usage: kubectl tokensync revoke-orphans [--dry-run] [-n NAMESPACE | -A] [--provider NAME]
                                     [--include-ownerless]

Finds upstream tokens that tokensync minted (named <prefix>-<uid8>-r<revision>) and that no ServiceAccountToken
holds any more (not current, not retiring, not a pending mint), and revokes them. It audits every provider whose
API can list tokens (the adapter's capabilities say so); the others are reported as skipped. --dry-run only prints.

Tokens whose ServiceAccountToken no longer exists are listed but revoked only with --include-ownerless: a resource
deleted with deletionPolicy Retain leaves its tokens live on purpose.

Needs to read the providers' management-credential Secrets: run it with an identity that may.

Provider URLs are chosen by whoever may create a provider, so this command applies the controller's egress policy
from where it runs: loopback, link-local and private addresses are refused unless --egress-allow lists them (same
syntax as the controller flag; a ClusterCredentialsProvider's spec.egress.allow applies too).

${flagHelp(spec)}`;

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
    .filter((p) => !only || p.metadata.name === only)
    .map((provider) => {
      const cluster = provider.kind === 'ClusterCredentialsProvider';
      const resources = sats.filter((s) => {
        const ref = s.spec.providerRef;
        const kind = ref.kind ?? 'CredentialsProvider';
        if (ref.name !== provider.metadata.name) return false;
        return cluster
          ? kind === 'ClusterCredentialsProvider'
          : kind === 'CredentialsProvider' && s.metadata.namespace === provider.metadata.namespace;
      });
      return { provider, key: providerKeyOf(provider), resources };
    });
}

/**
 * The upstream accounts to list for a provider: those its resources name; one list without an account when they
 * name none (APIs whose tokens belong to the organisation, not to an account); nothing when no resource uses it.
 */
export function accountsToList(resources: ServiceAccountToken[]): Array<string | undefined> {
  if (resources.length === 0) return [];
  const accounts = serviceAccountsOf(resources);
  return accounts.length > 0 ? accounts : [undefined];
}

/**
 * Provider clients come from the controller's ProviderResolver, so the plugin builds each adapter from its spec
 * exactly as the controller does (through src/providers/registry.ts), under the same egress policy. It reads only
 * management-credential Secrets. The credential label is not required here: the plugin acts with the user's own
 * right to read those Secrets, not as a deputy of someone who may not.
 */
function resolverFor(target: Target, egress: EgressPolicy): ProviderResolver {
  return new ProviderResolver({
    secrets: {
      readKey: (namespace, name, key) => target.secrets.readKey(namespace, name, key),
    },
    namespaces: { labels: () => Promise.reject(new Error('kubectl-tokensync does not read namespace labels')) },
    requireCredentialLabel: false,
    egress,
    getProvider: () => undefined,
    getClusterProvider: () => undefined,
  });
}

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const args = parse(argv, spec);
  if (booleanFlag(args, 'help')) {
    io.out(usage);
    return 0;
  }
  rejectNamespaceAndAll(args);
  if (args.positionals.length > 0)
    throw new UsageError(`revoke-orphans takes no arguments, got "${args.positionals.join(' ')}"`);
  const dryRun = booleanFlag(args, 'dry-run');
  const includeOwnerless = booleanFlag(args, 'include-ownerless');
  // Provider URLs are chosen by whoever may create a provider: the controller's egress policy applies here too.
  let egress: EgressPolicy;
  try {
    egress = buildEgressPolicy({ allow: (stringFlag(args, 'egress-allow') ?? '').split(',').filter(Boolean) });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const target = resolveTarget(globalFlags(args));

  // Owners are looked up among ALL ServiceAccountTokens: another provider object may share the upstream account.
  let allSats: ServiceAccountToken[];
  let complete = true;
  try {
    allSats = await target.tokens.list(undefined);
  } catch {
    complete = false;
    allSats = target.namespace ? await target.tokens.list(target.namespace) : [];
  }
  if (!complete && includeOwnerless) {
    throw new UsageError(
      '--include-ownerless needs to list ServiceAccountTokens in all namespaces, which is forbidden',
    );
  }
  const providers: AnyProvider[] = [...(await target.providers.list(target.namespace))];
  if (!target.namespace) providers.push(...(await target.providers.listCluster()));
  const targets = providerTargets(providers, allSats, stringFlag(args, 'provider'));
  if (targets.length === 0) {
    io.err(`No provider${stringFlag(args, 'provider') ? ` named ${stringFlag(args, 'provider')}` : ''} in scope.\n`);
    return 0;
  }

  const resolver = resolverFor(target, egress);
  const rows: string[][] = [];
  let failures = 0;
  let revocable = 0;
  let audited = 0;
  for (const t of targets) {
    const resolved = await resolver.resolveProvider(t.provider);
    if (!resolved.ok) {
      failures++;
      io.err(`${t.key}: ${resolved.message}\n`);
      continue;
    }
    const client: ProviderClient = resolved.client;
    try {
      if (!client.capabilities.list) {
        io.err(`${t.key}: skipped: the ${client.type} API cannot list its tokens\n`);
        continue;
      }
      audited++;
      for (const account of accountsToList(t.resources)) {
        const tokens = await client.list(account);
        const verdicts = classifyTokens(tokens, allSats, { includeOwnerless });
        for (const v of verdicts.filter((x) => x.decision === 'superseded' || x.decision === 'ownerless')) {
          let action = v.revoke ? (dryRun ? 'would revoke' : 'revoked') : 'kept (use --include-ownerless)';
          if (v.revoke) revocable++;
          if (v.revoke && !dryRun) {
            try {
              await client.revoke({
                id: v.token.id,
                name: v.token.name,
                ...(account ? { serviceAccount: account } : {}),
              });
            } catch (error) {
              failures++;
              action = `revoke failed: ${(error as Error).message}`;
            }
          }
          rows.push(row(t.key, account, v, action));
        }
      }
    } catch (error) {
      failures++;
      io.err(`${t.key}: ${(error as Error).message}\n`);
    } finally {
      await client.close?.();
    }
  }
  if (rows.length === 0) io.out(audited > 0 ? 'No orphaned tokens.\n' : 'No provider in scope can list its tokens.\n');
  else io.out(renderTable(['PROVIDER', 'SERVICE-ACCOUNT', 'TOKEN', 'OWNER', 'FINDING', 'ACTION'], rows));
  if (dryRun && revocable > 0) io.err(`${revocable} token(s) would be revoked; run without --dry-run to revoke.\n`);
  return failures > 0 ? 1 : 0;
}

function row(provider: string, account: string | undefined, v: Verdict, action: string): string[] {
  return [provider, account ?? '-', v.token.name, v.owner ?? '-', v.decision, action];
}
