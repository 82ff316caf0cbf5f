import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * A token value that cannot leak by accident: it prints, serialises and logs as [REDACTED]. The only way to the
 * plain string is `reveal()`, which the Secret writer (and nothing that logs) calls. Redaction by design, so a
 * forgotten log field or an exception message cannot carry a token.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
