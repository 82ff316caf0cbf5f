/**
 * Scrubbing of text that ends up in error messages (vendor error bodies, network error messages). Error bodies
 * should not carry tokens, but a vendor that echoes a request, or a proxy error page, might: anything that looks
 * like a credential is replaced before it reaches a message, a condition or a log line.
 */

const REDACTED = '[REDACTED]';

/** Known token shapes: Customer.io sa_live_, Rill rill_xxx_, JWTs, bearer headers, and any long opaque run. */
const TOKEN_PATTERNS: RegExp[] = [
  /\bsa_(?:live|test)_[A-Za-z0-9_-]+/g,
  /\brill_[a-z]{3}_[A-Za-z0-9]+/g,
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+/gi,
  /[A-Za-z0-9_+/=-]{32,}/g,
];

export const MAX_VENDOR_MESSAGE = 300;

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, REDACTED);
  return out;
}

/**
 * The human part of a vendor error body: a JSON `message`/`error_description`/`error`/`detail`/`title` field when
 * present, else the text itself; truncated, single-line and redacted.
 */
export function vendorMessage(body: string, secrets: readonly string[] = []): string {
  let message = body;
  try {
    const parsed: unknown = JSON.parse(body);
    const picked = pickMessage(parsed);
    if (picked !== undefined) message = picked;
  } catch {
    // not JSON: use the text
  }
  message = message.replace(/\s+/g, ' ').trim();
  message = redact(message, secrets);
  if (message.length > MAX_VENDOR_MESSAGE) message = `${message.slice(0, MAX_VENDOR_MESSAGE)}…`;
  return message;
}

function pickMessage(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of ['message', 'error_description', 'detail', 'title', 'error', 'msg']) {
    const field = record[key];
    if (typeof field === 'string' && field.length > 0) return field;
    if (typeof field === 'object' && field !== null) {
      const nested = pickMessage(field);
      if (nested !== undefined) return nested;
    }
  }
  return undefined;
}
