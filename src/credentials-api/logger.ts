/**
 * The slice of pino the server uses, so callers can pass a pino logger, a child of one, or nothing. Log calls
 * carry ids and names only: never token values, token hashes or keys.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
