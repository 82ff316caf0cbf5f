import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * `tokensync credentials-api`: runs the bundled reference credentials API (src/credentials-api) as a process, for
 * demos, e2e tests and as a stand-in vendor in a kind cluster. Flags are parsed with node:util and validated with
 * zod; keys are preferably passed by file or environment, since command-line arguments are visible in `ps`.
 */

const HELP = `Usage: tokensync credentials-api [flags]

Runs the reference credentials API (IOMETE-compatible service-account token REST API) over plain HTTP.
See docs/credentials-api.md for the wire contract.

Flags:
  --listen HOST:PORT                 Address to listen on (default 127.0.0.1:8090; env PORT sets the port).
                                     Use [::1]:PORT for IPv6, 0.0.0.0:PORT inside a container.
  --admin-key KEY                    Management key with every group (env TOKENSYNC_ADMIN_KEY).
                                     Generated and printed when no key is given.
  --admin-key-file PATH              Read the admin key from a file, e.g. a mounted Secret
                                     (env TOKENSYNC_ADMIN_KEY_FILE).
  --keys-file PATH                   JSON array of extra management keys: [{"key":"...","groups":["g1"]}].
                                     Such a key may only manage service accounts sharing one of its groups.
  --data-file PATH                   Persist state (token hashes, never values) to PATH; atomic writes.
                                     Default: in memory only.
  --rate-limit RPS                   Per-key sustained request rate on management routes (default 50; 0 disables).
  --burst N                          Per-key burst (default 100).
  --[no-]auto-create-service-accounts
                                     POST .../tokens to an unknown service account creates it (default on).
  --fault-seed N                     Seed for probabilistic fault injection (PUT /_faults), for reproducible runs.
  --max-token-lifetime-seconds N     Grant tokens at most N seconds of life, whatever the client asks (a vendor
                                     policy such as Customer.io's one-hour JWTs). Default: no cap.
  --log-level LEVEL                  debug | info | warn | error | silent (default info).
  -h, --help                         Show this help.

Environment: TOKENSYNC_ADMIN_KEY, TOKENSYNC_ADMIN_KEY_FILE, PORT (flags take precedence).
SIGTERM/SIGINT stop the server gracefully.`;

const listenSchema = z.string().transform((value, ctx) => {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    ctx.addIssue({ code: 'custom', message: 'must be HOST:PORT, e.g. 127.0.0.1:8090 or [::1]:8090' });
    return z.NEVER;
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
});

const flagsSchema = z.object({
  listen: listenSchema,
  rateLimit: z.coerce.number().min(0, 'must be >= 0'),
  burst: z.coerce.number().int('must be an integer').min(1, 'must be >= 1'),
  faultSeed: z.coerce.number().int('must be an integer').optional(),
  maxTokenLifetimeSeconds: z.coerce.number().int('must be an integer').min(1, 'must be >= 1').optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
});

const keysFileSchema = z.array(z.strictObject({ key: z.string().min(8), groups: z.array(z.string().min(1)) }));

export interface RunIo {
  env?: NodeJS.ProcessEnv;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  /** Stops the server like SIGTERM does (tests run the CLI in-process). */
  signal?: AbortSignal;
}

class UsageError extends Error {}

async function readSecretFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return text.trim();
}

export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.stdout ?? ((line: string) => console.log(line));
  const err = io.stderr ?? ((line: string) => console.error(line));

  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    err(`tokensync credentials-api: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    out(HELP);
    return 0;
  }

  let config: Awaited<ReturnType<typeof resolveConfig>>;
  try {
    config = await resolveConfig(values, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`tokensync credentials-api: ${error.message}`);
    return 2;
  }

  const { pino } = await import('pino');
  const logger = pino({ name: 'credentials-api', level: config.logLevel });
  const { startCredentialsApi, generateAdminKey } = await import('../credentials-api/index.ts');
  const generated = config.adminKey === undefined;
  const adminKey = config.adminKey ?? generateAdminKey();

  let api: Awaited<ReturnType<typeof startCredentialsApi>>;
  try {
    api = await startCredentialsApi({
      host: config.host,
      port: config.port,
      adminKey,
      keys: config.keys,
      dataFile: config.dataFile,
      rateLimit: config.rateLimit,
      autoCreateServiceAccounts: config.autoCreateServiceAccounts,
      faultSeed: config.faultSeed,
      ...(config.maxTokenLifetimeSeconds === undefined
        ? {}
        : { maxTokenLifetimeSeconds: config.maxTokenLifetimeSeconds }),
      logger,
    });
  } catch (error) {
    err(`tokensync credentials-api: cannot start: ${(error as Error).message}`);
    return 1;
  }

  out(`tokensync credentials-api listening on ${api.url}`);
  // The one place the admin key is ever printed: a generated key is useless unless the operator sees it.
  out(generated ? `admin key: ${adminKey}` : `admin key: (from ${config.adminKeySource})`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (io.signal?.aborted) stop();
    io.signal?.addEventListener('abort', stop, { once: true });
  });
  logger.info({}, 'credentials-api: shutting down');
  await api.close();
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    allowNegative: true,
    options: {
      listen: { type: 'string' },
      'admin-key': { type: 'string' },
      'admin-key-file': { type: 'string' },
      'keys-file': { type: 'string' },
      'data-file': { type: 'string' },
      'rate-limit': { type: 'string', default: '50' },
      burst: { type: 'string', default: '100' },
      'auto-create-service-accounts': { type: 'boolean', default: true },
      'fault-seed': { type: 'string' },
      'max-token-lifetime-seconds': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
}

async function resolveConfig(values: ReturnType<typeof parse>, env: NodeJS.ProcessEnv) {
  const listen = values.listen ?? (env['PORT'] ? `127.0.0.1:${env['PORT']}` : '127.0.0.1:8090');
  const parsed = flagsSchema.safeParse({
    listen,
    rateLimit: values['rate-limit'],
    burst: values.burst,
    faultSeed: values['fault-seed'],
    maxTokenLifetimeSeconds: values['max-token-lifetime-seconds'],
    logLevel: values['log-level'],
  });
  if (!parsed.success) {
    const flagNames: Record<string, string> = {
      listen: '--listen',
      rateLimit: '--rate-limit',
      burst: '--burst',
      faultSeed: '--fault-seed',
      maxTokenLifetimeSeconds: '--max-token-lifetime-seconds',
      logLevel: '--log-level',
    };
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${flagNames[String(issue.path[0])] ?? 'flag'}: ${issue.message}`);
  }
  const flags = parsed.data;

  if (values['admin-key'] !== undefined && values['admin-key-file'] !== undefined) {
    throw new UsageError('use either --admin-key or --admin-key-file, not both');
  }
  let adminKey: string | undefined;
  let adminKeySource = '';
  if (values['admin-key'] !== undefined) {
    [adminKey, adminKeySource] = [values['admin-key'], '--admin-key'];
  } else if (values['admin-key-file'] !== undefined) {
    [adminKey, adminKeySource] = [await readSecretFile(values['admin-key-file'], 'admin key file'), '--admin-key-file'];
  } else if (env['TOKENSYNC_ADMIN_KEY']) {
    [adminKey, adminKeySource] = [env['TOKENSYNC_ADMIN_KEY'], 'TOKENSYNC_ADMIN_KEY'];
  } else if (env['TOKENSYNC_ADMIN_KEY_FILE']) {
    [adminKey, adminKeySource] = [
      await readSecretFile(env['TOKENSYNC_ADMIN_KEY_FILE'], 'admin key file'),
      'TOKENSYNC_ADMIN_KEY_FILE',
    ];
  }
  if (adminKey !== undefined && adminKey.length < 8) {
    throw new UsageError(`admin key from ${adminKeySource} must be at least 8 characters`);
  }

  let keys: { key: string; groups: string[] }[] | undefined;
  if (values['keys-file'] !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(await readSecretFile(values['keys-file'], 'keys file'));
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`--keys-file ${values['keys-file']} is not valid JSON`);
    }
    const checked = keysFileSchema.safeParse(json);
    // Never echo the file: it holds keys.
    if (!checked.success) {
      throw new UsageError(`--keys-file must be a JSON array of {"key": string (>= 8 chars), "groups": string[]}`);
    }
    keys = checked.data;
  }

  return {
    host: flags.listen.host,
    port: flags.listen.port,
    adminKey,
    adminKeySource,
    keys,
    dataFile: values['data-file'],
    rateLimit: flags.rateLimit === 0 ? (false as const) : { requestsPerSecond: flags.rateLimit, burst: flags.burst },
    autoCreateServiceAccounts: values['auto-create-service-accounts'],
    faultSeed: flags.faultSeed,
    maxTokenLifetimeSeconds: flags.maxTokenLifetimeSeconds,
    logLevel: flags.logLevel,
  };
}
