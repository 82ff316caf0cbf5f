import type { SecretManifest } from '../../kube/secrets.ts';
import type { SecretValue } from '../../providers/secret-value.ts';
import { ValueRejectedError } from './failure.ts';

/** The API server refuses a Secret whose data totals more than 1 MiB (validation of core/v1 Secret). */
export const MAX_SECRET_DATA_BYTES = 1024 * 1024;

/**
 * Checks a minted value and the Secret built from it before anything is written: an empty value, a value with
 * control characters (a newline breaks env files and HTTP headers) and data too large for a Secret are refused with
 * a reason a human can act on. Never puts the value in the message.
 */
export function checkValue(value: SecretValue, manifest: SecretManifest): void {
  const text = value.reveal();
  if (text.length === 0) throw new ValueRejectedError('the credentials API returned an empty token value');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  const control = /[\u0000-\u001f\u007f]/.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(2, '0');
    throw new ValueRejectedError(
      `the token value contains a control character (U+00${code.toUpperCase()} at offset ${control.index}); it would break env files and headers`,
    );
  }
  let total = 0;
  for (const encoded of Object.values(manifest.data)) total += Buffer.byteLength(encoded, 'base64');
  if (total > MAX_SECRET_DATA_BYTES) {
    throw new ValueRejectedError(
      `the Secret data would be ${total} bytes, more than the ${MAX_SECRET_DATA_BYTES} a Secret can hold (token value ${Buffer.byteLength(text)} bytes)`,
    );
  }
}
