import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/**
 * Paths redacted in every log line. Token values are SecretValue objects (which print as [REDACTED]) by design;
 * these paths are the second fence for anything that slips through as a plain string.
 */
export const REDACT_PATHS = [
  'token',
  'value',
  'accessToken',
  'access_token',
  'client_secret',
  'credential',
  'authorization',
  'password',
  'data',
  'stringData',
  '*.token',
  '*.value',
  '*.accessToken',
  '*.access_token',
  '*.credential',
  '*.data',
  '*.stringData',
  'headers.authorization',
  'headers["x-api-token"]',
  'req.headers.authorization',
  'req.headers["x-api-token"]',
];

export interface LoggerConfig {
  level?: string;
  format?: 'json' | 'pretty';
  destination?: NodeJS.WritableStream;
}

/** pino with redaction compiled once at creation (unredacted keys cost nothing per line). */
export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { component: 'tokensync' },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (config.format === 'pretty') {
    // A dependency-free human format: time level msg key=value…, for local runs and the demo.
    return pino(options, prettyStream(config.destination ?? process.stderr));
  }
  // Synchronous stdout: an operator's last lines before a crash (or SIGKILL) are the ones worth reading, and
  // pino's default asynchronous buffer loses them. The controller logs little, so the cost is negligible.
  return pino(options, (config.destination as pino.DestinationStream) ?? pino.destination({ dest: 1, sync: true }));
}

function prettyStream(out: NodeJS.WritableStream): pino.DestinationStream {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, msg, component: _c, ...rest } = record;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      const clock = typeof time === 'string' ? time.slice(11, 19) : '';
      out.write(
        `${clock} ${String(level).toUpperCase().padEnd(5)} ${String(msg ?? '')}${fields ? `  ${fields}` : ''}\n`,
      );
    },
  };
}
