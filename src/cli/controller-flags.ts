import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DURATION_PATTERN } from '../api/v1alpha1/common.ts';
import { parseDuration } from '../controller/durations.ts';
import { TOKEN_SERIES_MODES, type TokenSeriesMode } from '../observability/token-series.ts';

const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'a duration such as 15s, 10m or 1h')
  .transform(parseDuration);
const bindAddress = z.string().regex(/^(.*):(\d+)$/, 'host:port or :port (0 disables)');

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
});
export type ControllerFlags = z.infer<typeof controllerFlagsSchema>;

export const CONTROLLER_HELP = `Usage: tokensync controller [flags]

Runs the operator: reconciles ServiceAccountTokens and credentials providers.
Each flag can also be set as an environment variable TOKENSYNC_<FLAG> (e.g. TOKENSYNC_LOG_LEVEL=debug).

Flags:
  --kubeconfig PATH                  kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS                     watch only this namespace (default: all namespaces)
  --max-concurrent-reconciles N      parallel reconciles (default 4)
  --leader-elect                     only one replica reconciles; others stand by (default false)
  --leader-election-namespace NS     namespace of the Lease (default: $POD_NAMESPACE)
  --leader-election-id NAME          name of the Lease (default tokensync-controller)
  --lease-duration D                 lease duration (default 15s)
  --renew-deadline D                 leader gives up if it cannot renew within this (default 10s)
  --retry-period D                   how often to try to acquire/renew (default 2s)
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
`;

/** Flags beat environment variables, which beat defaults. Throws a readable error listing every bad value. */
export function parseControllerFlags(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ControllerFlags & { help: boolean } {
  const shape = controllerFlagsSchema.shape;
  const options = Object.fromEntries(
    Object.keys(shape).map((name) => [name, { type: name === 'leader-elect' ? 'boolean' : 'string' }] as const),
  ) as Record<string, { type: 'string' | 'boolean' }>;
  const { values } = parseArgs({
    args: argv,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }) as {
    values: Record<string, string | boolean | undefined>;
  };
  const merged: Record<string, unknown> = {};
  for (const name of Object.keys(shape)) {
    const envValue = env[`TOKENSYNC_${name.toUpperCase().replace(/-/g, '_')}`];
    if (values[name] !== undefined) merged[name] = values[name];
    else if (envValue !== undefined && envValue !== '') merged[name] = envValue;
  }
  const parsed = controllerFlagsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  return { ...parsed.data, help: values['help'] === true };
}
