import { request } from 'undici';
import { type CredentialsApiOptions, startCredentialsApi } from '../../../src/credentials-api/index.ts';

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on response shapes field by field; typing each is noise.
  json: any;
}

export interface CallOptions {
  body?: unknown;
  /** Management key; null sends no key at all. Default: the admin key. */
  key?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A manually driven clock, so expiry and rate-limit refill are tested without sleeping. */
export function manualClock(start = Date.parse('2030-01-01T00:00:00.000Z')) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    iso(offsetMs = 0) {
      return new Date(now + offsetMs).toISOString();
    },
  };
}

/** Starts the server in-process on 127.0.0.1:0 (rate limit off unless asked) with a small HTTP helper. */
export async function startTestApi(options: CredentialsApiOptions = {}) {
  const api = await startCredentialsApi({ rateLimit: false, ...options });
  async function call(method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
    const key = opts.key === undefined ? api.adminKey : opts.key;
    const headers: Record<string, string> = { ...(key === null ? {} : { authorization: `Bearer ${key}` }) };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await request(`${api.url}${path}`, {
      method: method as 'GET',
      headers: { ...headers, ...opts.headers },
      body,
      signal: opts.signal,
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  }
  const tokens = (sa: string) => `/api/v1/auth/service-accounts/${sa}/tokens`;
  async function mint(sa: string, body: Record<string, unknown>, key?: string) {
    const res = await call('POST', tokens(sa), key === undefined ? { body } : { body, key });
    if (res.status !== 201) throw new Error(`mint failed: ${res.status} ${res.text}`);
    return res.json as { name: string; token: string; [k: string]: unknown };
  }
  async function introspect(value: string) {
    return call('POST', '/introspect', { key: value });
  }
  return { api, call, tokens, mint, introspect, close: () => api.close() };
}

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;
