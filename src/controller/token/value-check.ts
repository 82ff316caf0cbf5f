import type { SecretValue } from '../../providers/secret-value.ts';
import { ValueRejectedError } from './failure.ts';

/**
 * Checks a minted value before anything is written: an empty value and a value with control characters (a newline
 * breaks env files and HTTP headers) are refused with a reason a human can act on. Data too large for a Secret is
 * refused while rendering (template.ts MAX_RENDERED_BYTES). Never puts the value in the message.
 */
export function checkValue(value: SecretValue): void {
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
}
