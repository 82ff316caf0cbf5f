import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DURATION_PATTERN } from '../api/v1alpha1/common.ts';
import { parseDuration } from '../controller/durations.ts';
import { TOKEN_SERIES_MODES, type TokenSeriesMode } from '../observability/token-series.ts';
import { buildEgressPolicy } from '../providers/transport/egress-policy.ts';

const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'a duration such as 15s, 10m or 1h')
  .transform(parseDuration);
const bindAddress = z.string().regex(/^(.*):(\d+)$/, 'host:port or :port (0 disables)');
/** A comma-separated list; the flag may also be repeated (the values are joined). */
const list = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .default([]);

/** Every flag of `tokensync controller`; each may also come from TOKENSYNC_<FLAG_IN_UPPER_SNAKE> (12-factor). */
export const controllerFlagsSchema = z.object({
  kubeconfig: z.string().optional(),
  namespace: z.string().optional(),
  'max-concurrent-reconciles': z.coerce.number().int().min(1).max(256).default(4),
  'leader-elect': z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
  'leader-election-namespace': z.string().optional(),
  'leader-election-id': z.string().default('tokensync-controller'),
  'lease-duration': duration.default(15_000),
  'renew-deadline': duration.default(10_000),
  'retry-period': duration.default(2_000),
  sharding: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
  shards: z.coerce.number().int().min(1).max(1024).default(16),
  'shard-lease-prefix': z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, 'a DNS label of at most 40 characters')
    .default('tokensync'),
  'metrics-bind-address': bindAddress.default(':8443'),
  'metrics-secure': z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  'metrics-cert-dir': z.string().optional(),
  'token-metrics': z.enum(TOKEN_SERIES_MODES as [TokenSeriesMode, ...TokenSeriesMode[]]).default('all'),
  'health-probe-bind-address': bindAddress.default(':8081'),
  'log-level': z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  'log-format': z.enum(['json', 'pretty']).default('json'),
  'resync-period': duration.default(3_600_000),
  'hash-key-secret': z
    .string()
    .regex(/^[a-z0-9.-]+\/[a-z0-9.-]+$/, 'NAMESPACE/NAME')
    .optional(),
  'enable-restart-targets': z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  'require-credential-label': z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  'egress-allow': list,
  'egress-deny': list,
  'cluster-service-cidrs': list,
  'cluster-pod-cidrs': list,
});
export type ControllerFlags = z.infer<typeof controllerFlagsSchema>;
const LIST_FLAGS = new Set(['egress-allow', 'egress-deny', 'cluster-service-cidrs', 'cluster-pod-cidrs']);

export const CONTROLLER_HELP = `Usage: tokensync controller [flags]

Runs the operator: reconciles ServiceAccountTokens and credentials providers.
Each flag can also be set as an environment variable TOKENSYNC_<FLAG> (e.g. TOKENSYNC_LOG_LEVEL=debug).

Flags:
  --kubeconfig PATH                  kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS[,NS...]             serve only these namespaces (default: all namespaces)
  --max-concurrent-reconciles N      parallel reconciles (default 4)
  --leader-elect                     only one replica reconciles; others stand by (default false)
  --leader-election-namespace NS     namespace of the Lease (default: $POD_NAMESPACE)
  --leader-election-id NAME          name of the Lease (default tokensync-controller)
  --lease-duration D                 lease duration (default 15s)
  --renew-deadline D                 leader gives up if it cannot renew within this (default 10s)
  --retry-period D                   how often to try to acquire/renew (default 2s)
  --sharding                         every replica works, each on the shards it holds (Leases <prefix>-shard-<i>
                                     and one <prefix>-member-... per replica, in the leader-election namespace);
                                     replaces --leader-elect (default false)
  --shards N                         number of shards; the same on every replica (default 16)
  --shard-lease-prefix NAME          prefix of the shard and member Lease names (default tokensync)
  (--lease-duration, --renew-deadline and --retry-period apply to shard and member Leases too)
  --metrics-bind-address ADDR        Prometheus /metrics (default :8443; :0 picks a free port)
  --metrics-secure=true|false        serve /metrics over HTTPS, only to bearer tokens allowed to get /metrics
                                     (TokenReview + SubjectAccessReview, as controller-runtime) (default true)
  --metrics-cert-dir DIR             tls.crt and tls.key for /metrics (default: a self-signed certificate)
  --token-metrics all|unhealthy      per-token series for every token, or only for tokens that are not Ready,
                                     due for renewal or expired; aggregates are always exported (default all)
  --health-probe-bind-address ADDR   /healthz and /readyz (default :8081)
  --log-level LEVEL                  trace|debug|info|warn|error (default info)
  --log-format FORMAT                json|pretty (default json)
  --resync-period D                  reconcile every resource at least this often (default 1h)
  --hash-key-secret NS/NAME          Secret holding the key of the Secret-content hashes, created if missing
                                     (default $POD_NAMESPACE/tokensync-hash-key, else tokensync-system/...)
  --enable-restart-targets BOOL      restart the workloads a ServiceAccountToken lists in restartTargets after a
                                     rotation (default false: needs patch on Deployments, StatefulSets, DaemonSets)
  --require-credential-label BOOL    read a Secret as a provider credential only when it is labelled
                                     tokensync.io/credential=true (default true; false only to migrate from 0.1)

Egress policy (where providers may connect; checked on the resolved address at connect time):
  --egress-allow LIST                addresses, CIDRs, host names or *.domain providers may call inside denied ranges
                                     (loopback, link-local and other special ranges only by address or CIDR)
  --cluster-service-cidrs LIST       the cluster's Service CIDRs, denied unless allowed
  --cluster-pod-cidrs LIST           the cluster's Pod CIDRs, denied unless allowed
  --egress-deny LIST                 more CIDRs to deny (0.0.0.0/0,::/0: only --egress-allow is reachable)
  Denied by default: loopback, link-local (cloud metadata), private (RFC 1918, fc00::/7), CGNAT, multicast,
  reserved and documentation ranges, and their IPv4-mapped IPv6 forms. LIST is comma-separated.
`;

/** Flags beat environment variables, which beat defaults. Throws a readable error listing every bad value. */
export function parseControllerFlags(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ControllerFlags & { help: boolean } {
  const shape = controllerFlagsSchema.shape;
  const options = Object.fromEntries(
    Object.keys(shape).map(
      (name) =>
        [
          name,
          name === 'leader-elect' || name === 'sharding'
            ? { type: 'boolean' }
            : { type: 'string', ...(LIST_FLAGS.has(name) ? { multiple: true } : {}) },
        ] as const,
    ),
  ) as Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  const { values } = parseArgs({
    args: argv,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }) as {
    values: Record<string, string | string[] | boolean | undefined>;
  };
  const merged: Record<string, unknown> = {};
  for (const name of Object.keys(shape)) {
    const envValue = env[`TOKENSYNC_${name.toUpperCase().replace(/-/g, '_')}`];
    const value = values[name];
    if (value !== undefined) merged[name] = Array.isArray(value) ? value.join(',') : value;
    else if (envValue !== undefined && envValue !== '') merged[name] = envValue;
  }
  const parsed = controllerFlagsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  if (parsed.data.sharding && parsed.data['leader-elect']) {
    throw new Error('--sharding replaces --leader-elect: every replica works on the shards it holds; set only one');
  }
  // Validated here so a bad entry stops the start with a readable message (the Manager builds the same policy).
  egressPolicyOf(parsed.data);
  return { ...parsed.data, help: values['help'] === true };
}

/** The controller-wide egress policy the flags describe. Throws EgressConfigError naming each bad entry. */
export function egressPolicyOf(flags: ControllerFlags) {
  return buildEgressPolicy({
    allow: flags['egress-allow'],
    deny: flags['egress-deny'],
    serviceCidrs: flags['cluster-service-cidrs'],
    podCidrs: flags['cluster-pod-cidrs'],
  });
}
