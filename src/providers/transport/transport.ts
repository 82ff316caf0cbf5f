import { Agent, type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { realClock } from '../../clock.ts';
import { malformed, notFound, ProviderError, permanent, rateLimited, transient } from '../errors.ts';
import type { SecretValue } from '../secret-value.ts';
import type { ProviderDeps, ResolvedProviderConfig } from '../types.ts';
import { EgressDeniedError, egressConnector } from './egress-connector.ts';
import { DEFAULT_EGRESS_POLICY } from './egress-policy.ts';
import { redact, vendorMessage } from './redact.ts';
import { parseRetryAfter } from './retry-after.ts';

/**
 * The one place that calls undici. Every adapter request goes through `HttpTransport.call`, which:
 * - waits for the provider's shared rate limiter (caller's signal only: queueing is not the upstream's fault);
 * - bounds the call with `timeoutMs` (AbortSignal.timeout combined with the caller's signal);
 * - connects only where the egress policy allows (deps.egress, checked on the resolved address at connect time;
 *   a refusal → Permanent naming the address, the rule and the setting that allows it);
 * - caps a 2xx response body at MAX_RESPONSE_BYTES (→ Malformed); of an error body it reads only the first
 *   MAX_ERROR_BODY_BYTES (the status decides, the body only adds the vendor's message);
 * - never follows a redirect: a 3xx → Permanent naming the Location host;
 * - parses JSON responses with zod (→ Malformed naming the operation and the invalid fields, never the body);
 * - maps statuses: 401/403 → Permanent (with the vendor's message), 404 → NotFound, 409 → Permanent,
 *   429 → RateLimited (Retry-After seconds or HTTP-date, default 1 s), 5xx / network / timeout → Transient,
 *   any other non-2xx → Permanent;
 * - reports every attempt to deps.onRequest.
 * Error messages are built from the provider label, operation, status and a redacted vendor message: never a
 * token value nor the management credential.
 */

export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Of a non-2xx body, only this much is read: enough for any vendor message, little work for a hostile server. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TransportOptions {
  /** Label used in messages, e.g. "iomete". */
  provider: string;
  baseUrl: string;
  allowInsecureHttp: boolean;
  caBundle?: string | undefined;
  timeoutMs: number;
  /** The management credential: scrubbed from every message. */
  credential?: SecretValue | undefined;
  deps: ProviderDeps;
}

export interface CallSpec<T> {
  /** Operation name for messages and metrics: issue, revoke, lookup, list, check. */
  operation: string;
  method: HttpMethod;
  /** Path below the base URL, starting with "/", placeholders already URL-encoded. */
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  form?: URLSearchParams;
  /** Parse a 2xx body as JSON with this schema. Absent: the body is drained and ignored. */
  schema?: z.ZodType<T>;
  signal?: AbortSignal | undefined;
}

export interface CallResult<T> {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  data: T;
}

export class HttpTransport {
  readonly provider: string;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #deps: ProviderDeps;
  readonly #credential: SecretValue | undefined;

  /** The transport every HTTP adapter builds from its resolved provider config (one place for TLS, timeout, limits). */
  static forConfig(provider: string, config: ResolvedProviderConfig, deps: ProviderDeps): HttpTransport {
    return new HttpTransport({
      provider,
      // Adapters check spec.url first with a message of their own; '' fails URL parsing here as a last fence.
      baseUrl: config.url ?? '',
      allowInsecureHttp: config.allowInsecureHttp,
      caBundle: config.caBundle,
      timeoutMs: config.timeoutMs,
      credential: config.credential,
      deps,
    });
  }

  constructor(options: TransportOptions) {
    this.provider = options.provider;
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw permanent(`${options.provider}: spec.url is not a valid URL`);
    }
    if (url.protocol === 'http:') {
      if (!options.allowInsecureHttp) {
        throw permanent(
          `${options.provider}: refusing plain http:// url (the management credential would travel in clear); use https:// or set allowInsecureHttp`,
        );
      }
    } else if (url.protocol !== 'https:') {
      throw permanent(`${options.provider}: spec.url must be https:// (got ${url.protocol})`);
    }
    if (url.username || url.password) throw permanent(`${options.provider}: spec.url must not embed credentials`);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs > 0 ? options.timeoutMs : 10_000;
    this.#deps = options.deps;
    this.#credential = options.credential;
    if (options.deps.dispatcher) {
      this.#dispatcher = options.deps.dispatcher;
      this.#ownsDispatcher = false;
    } else {
      this.#dispatcher = new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        connections: 16,
        connect: egressConnector({
          policy: options.deps.egress ?? DEFAULT_EGRESS_POLICY,
          lookup: options.deps.lookup,
          connect: options.caBundle ? { ca: options.caBundle } : {},
        }),
      });
      this.#ownsDispatcher = true;
    }
  }

  /** Full URL of a path, for adapters that need it (never contains secrets). */
  url(path: string): string {
    return `${this.#origin}${this.#basePath}${path}`;
  }

  /** Close the keep-alive Agent this transport created (not an injected dispatcher). */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  /** Secrets to scrub from messages. */
  #secrets(extra: readonly string[] = []): string[] {
    return this.#credential ? [this.#credential.reveal(), ...extra] : [...extra];
  }

  #label(operation: string): string {
    return `${this.provider} ${operation}`;
  }

  async call<T = undefined>(spec: CallSpec<T>): Promise<CallResult<T>> {
    const callerSignal = spec.signal;
    callerSignal?.throwIfAborted();
    if (this.#deps.limiter) await this.#deps.limiter.acquire(callerSignal);

    const timeoutSignal = AbortSignal.timeout(this.#timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeoutSignal]) : timeoutSignal;
    const headers: Record<string, string> = { accept: 'application/json', ...spec.headers };
    let body: string | undefined;
    if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers['content-type'] = 'application/json';
    } else if (spec.form !== undefined) {
      body = spec.form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }

    const started = performance.now();
    let statusCode: number | 'error' = 'error';
    try {
      let response: Dispatcher.ResponseData;
      let text: string;
      try {
        response = await request(this.url(spec.path), {
          method: spec.method,
          headers,
          body,
          signal,
          dispatcher: this.#dispatcher,
        });
        statusCode = response.statusCode;
        const success = statusCode >= 200 && statusCode < 300;
        text = success
          ? await readCapped(response, this.#label(spec.operation))
          : await readPrefix(response, MAX_ERROR_BODY_BYTES);
      } catch (error) {
        throw this.#networkError(spec.operation, error, callerSignal, timeoutSignal);
      }
      const status = response.statusCode;
      if (status < 200 || status >= 300) throw this.#statusError(spec.operation, status, text, response.headers);
      let data: T = undefined as T;
      if (spec.schema) data = parseJson(this.#label(spec.operation), text, spec.schema, status);
      return { statusCode: status, headers: response.headers, data };
    } finally {
      this.#deps.onRequest?.({ operation: spec.operation, statusCode, durationMs: performance.now() - started });
    }
  }

  #networkError(
    operation: string,
    error: unknown,
    callerSignal: AbortSignal | undefined,
    timeoutSignal: AbortSignal,
  ): unknown {
    if (ProviderError.is(error)) return error;
    const denied = EgressDeniedError.find(error);
    if (denied) return permanent(`${this.#label(operation)}: ${denied.message}`);
    // The caller gave up (shutdown, reconcile cancelled): propagate its reason, this is not an upstream failure.
    if (callerSignal?.aborted) return callerSignal.reason;
    if (timeoutSignal.aborted) {
      return transient(`${this.#label(operation)}: timed out after ${this.#timeoutMs} ms`);
    }
    const code = (error as { code?: unknown } | null)?.code;
    const detail = error instanceof Error ? error.message : String(error);
    return transient(
      `${this.#label(operation)}: request failed: ${typeof code === 'string' ? `${code}: ` : ''}${redact(detail, this.#secrets())}`,
    );
  }

  #statusError(
    operation: string,
    status: number,
    text: string,
    headers: Record<string, string | string[] | undefined>,
  ): ProviderError {
    const vendor = vendorMessage(text, this.#secrets());
    const message = `${this.#label(operation)}: HTTP ${status}${vendor ? `: ${vendor}` : ''}`;
    if (status === 401 || status === 403) {
      return new ProviderError('Permanent', `${message} (check the management credential and its permissions)`, {
        statusCode: status,
      });
    }
    if (status === 404) return notFound(message, status);
    if (status === 429) {
      const nowMs = (this.#deps.clock ?? realClock).now();
      return rateLimited(message, parseRetryAfter(headers['retry-after'], nowMs), status);
    }
    if (status >= 500) return transient(message, { statusCode: status });
    if (status >= 300 && status < 400) return permanent(this.#redirectMessage(operation, status, headers), status);
    return permanent(message, status);
  }

  /** Names only the Location host: its path or query may carry anything. */
  #redirectMessage(operation: string, status: number, headers: Record<string, string | string[] | undefined>): string {
    const location = [headers['location']].flat()[0];
    let host = '(no Location header)';
    if (location) {
      try {
        host = new URL(location, this.url('/')).host;
      } catch {
        host = '(an invalid Location header)';
      }
    }
    return `${this.#label(operation)}: HTTP ${status} redirect to ${host} not followed (tokensync never follows redirects; set spec.url to the address that answers)`;
  }
}

async function readCapped(response: Dispatcher.ResponseData, label: string): Promise<string> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_RESPONSE_BYTES) {
    response.body.destroy();
    throw malformed(`${label}: response body too large (${declared} bytes, limit ${MAX_RESPONSE_BYTES})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_RESPONSE_BYTES) {
      response.body.destroy();
      throw malformed(`${label}: response body larger than the ${MAX_RESPONSE_BYTES}-byte limit`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** The first `limit` bytes of a body; the rest is not read (the connection is dropped rather than drained). */
async function readPrefix(response: Dispatcher.ResponseData, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer;
    chunks.push(buffer.subarray(0, limit - size));
    size += Math.min(buffer.length, limit - size);
    if (size >= limit) {
      response.body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/**
 * JSON.parse error messages quote the input (which may hold a token) and zod messages can describe values:
 * only the operation, the status and the invalid field paths/codes make it into the error.
 */
export function parseJson<T>(label: string, text: string, schema: z.ZodType<T>, statusCode?: number): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(`${label}: response is not valid JSON`, statusCode);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const fields = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'} (${issue.code})`)
      .join(', ');
    throw malformed(`${label}: response does not have the expected shape: ${fields}`, statusCode);
  }
  return result.data;
}

/** Encode one path segment (placeholders in paths are always URL-encoded). */
export const seg = (value: string): string => encodeURIComponent(value);
