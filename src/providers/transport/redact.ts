/**
 * Scrubbing of text that ends up in error messages (vendor error bodies, network error messages). Error bodies
 * should not carry tokens, but a vendor that echoes a request, or a proxy error page, might: anything that looks
 * like a credential is replaced before it reaches a message, a condition or a log line. Only values are replaced,
 * never words: "auth token is invalid" stays readable.
 */

const REDACTED = '[REDACTED]';

/** Characters of bearer tokens, API keys and base64 (RFC 6750 b64token). */
const TOKEN_CHARS = 'A-Za-z0-9._~+/=-';

/** Known token shapes: Customer.io sa_live_, Rill rill_xxx_, JWTs, and any long opaque run. */
const TOKEN_PATTERNS: RegExp[] = [
  /\bsa_(?:live|test)_[A-Za-z0-9_-]+/g,
  /\brill_[a-z]{3}_[A-Za-z0-9]+/g,
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /[A-Za-z0-9_+/=-]{32,}/g,
];

/** A canonical UUID is an id (a token's, a request's), not a secret: it stays, so messages can name tokens. */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A word after an auth scheme word; looksLikeCredential decides whether it is a value. */
const AFTER_SCHEME = new RegExp(`\\b(Bearer|Basic|Token)(\\s+)([${TOKEN_CHARS}]+)`, 'gi');

/**
 * Only something credential-like after Bearer/Basic/Token is a value: 6+ characters with a digit or a symbol
 * inside, or 20+ of any kind (trailing punctuation aside). "token is invalid", "Bearer realm", "Token expired."
 * are words and stay.
 */
function looksLikeCredential(word: string): boolean {
  const core = word.replace(/[.,;:=]+$/, '');
  if (UUID.test(core)) return false;
  return core.length >= 20 || (core.length >= 6 && /[0-9._~+/=-]/.test(core));
}

export const MAX_VENDOR_MESSAGE = 300;

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  // The scheme word stays: "Bearer [REDACTED]" tells the reader what was there.
  out = out.replace(AFTER_SCHEME, (match, scheme: string, space: string, word: string) =>
    looksLikeCredential(word) ? `${scheme}${space}${REDACTED}` : match,
  );
  for (const pattern of TOKEN_PATTERNS) {
    out = out.replace(pattern, (match) => (UUID.test(match) ? match : REDACTED));
  }
  return out;
}

/**
 * The human part of a vendor error body, single-line, redacted and truncated:
 * - JSON: the `message` / `error_description` / `detail` / `title` / `error` / `msg` field, looked for in nested
 *   objects too (`{"error":{"message":…}}`) and in error lists (`{"errors":[{"detail":…}, …]}`, joined with "; ");
 *   a JSON body without any of these gives no message rather than quoted JSON;
 * - anything else (text, an HTML error page): its text, tags removed.
 */
export function vendorMessage(body: string, secrets: readonly string[] = []): string {
  let message: string;
  let parsed: unknown;
  let isJson = false;
  try {
    parsed = JSON.parse(body);
    isJson = typeof parsed === 'object' && parsed !== null;
  } catch {
    // not JSON: use the text
  }
  if (isJson) message = pickMessage(parsed, 0) ?? '';
  else if (typeof parsed === 'string') message = parsed;
  else message = body.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ');
  message = message.replace(/\s+/g, ' ').trim();
  message = redact(message, secrets);
  if (message.length > MAX_VENDOR_MESSAGE) message = `${message.slice(0, MAX_VENDOR_MESSAGE)}…`;
  return message;
}

const MESSAGE_KEYS = ['message', 'error_description', 'detail', 'title', 'error', 'msg'];
const LIST_KEYS = ['errors', 'details'];

function pickMessage(value: unknown, depth: number): string | undefined {
  if (depth > 4) return undefined;
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (Array.isArray(value)) {
    const messages = value
      .slice(0, 3)
      .map((item) => pickMessage(item, depth + 1))
      .filter((m): m is string => m !== undefined);
    return messages.length > 0 ? [...new Set(messages)].join('; ') : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  for (const key of MESSAGE_KEYS) {
    const field = record[key];
    if (field === undefined || field === null) continue;
    const picked = typeof field === 'string' ? (field.length > 0 ? field : undefined) : pickMessage(field, depth + 1);
    if (picked !== undefined) return picked;
  }
  for (const key of LIST_KEYS) {
    if (Array.isArray(record[key])) {
      const picked = pickMessage(record[key], depth + 1);
      if (picked !== undefined) return picked;
    }
  }
  return undefined;
}
