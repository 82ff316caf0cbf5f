import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyRing } from './auth.ts';
import { ApiError, rateLimited, unauthorized } from './errors.ts';
import type { FaultInjector, Operation } from './faults.ts';
import { createHandlers, type Handler, type HandlerDeps, type Reply, type RequestContext } from './handlers.ts';
import { parseJson, readBody, sendError, sendJson, sendRaw } from './http.ts';
import type { Logger } from './logger.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { Stats } from './stats.ts';

/**
 * How a route is guarded:
 * - `management`: service accounts and tokens. Counted in stats.requests, subject to faults, key auth and the
 *   rate limit — the surface a real vendor API has.
 * - `admin`: audit and fault control. Key auth only: a test must be able to read counters and clear faults while
 *   the management surface is being made to fail.
 * - `open`: /healthz and /introspect (the latter authenticates with the token itself).
 */
type Guard = 'management' | 'admin' | 'open';
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Route {
  /** Literal segments, or `:param`. */
  pattern: string[];
  guard: Guard;
  methods: Partial<Record<Method, Handler>>;
  /** What each method is, for faults aimed at some operations only (management routes). */
  operations?: Partial<Record<Method, Operation>>;
}

/** A fault timeout holds the request at most this long before dropping the connection, so nothing leaks. */
const MAX_HOLD_MS = 60_000;

export interface ServerDeps extends HandlerDeps {
  keyRing: KeyRing;
  rateLimiter: RateLimiter | undefined;
  faults: FaultInjector;
  stats: Stats;
  logger: Logger;
}

function buildRoutes(deps: HandlerDeps): Route[] {
  const h = createHandlers(deps);
  const routes: Route[] = [
    { pattern: ['healthz'], guard: 'open', methods: { GET: h.healthz } },
    { pattern: ['introspect'], guard: 'open', methods: { POST: h.introspect } },
    { pattern: ['_faults'], guard: 'admin', methods: { GET: h.getFaults, PUT: h.putFaults, DELETE: h.clearFaults } },
    { pattern: ['api', 'v1', 'audit', 'live-tokens'], guard: 'admin', methods: { GET: h.liveTokens } },
    { pattern: ['api', 'v1', 'audit', 'stats'], guard: 'admin', methods: { GET: h.stats } },
    { pattern: ['api', 'v1', 'audit', 'stats', 'reset'], guard: 'admin', methods: { POST: h.resetStats } },
    {
      pattern: ['api', 'v1', 'auth', 'service-accounts'],
      guard: 'management',
      methods: { GET: h.listServiceAccounts, POST: h.createServiceAccount },
      operations: { GET: 'accounts', POST: 'accounts' },
    },
    {
      pattern: ['api', 'v1', 'auth', 'service-accounts', ':sa'],
      guard: 'management',
      methods: { GET: h.getServiceAccount, DELETE: h.deleteServiceAccount },
      operations: { GET: 'accounts', DELETE: 'accounts' },
    },
  ];
  // IOMETE's two equivalent bases: admin-level and domain-level. Same handlers, the domain is only recorded.
  const bases = [
    ['api', 'v1', 'auth', 'service-accounts', ':sa'],
    ['api', 'v1', 'domains', ':domain', 'auth', 'service-accounts', ':sa'],
  ];
  for (const base of bases) {
    routes.push(
      {
        pattern: [...base, 'tokens'],
        guard: 'management',
        methods: { GET: h.listTokens, POST: h.createToken },
        operations: { GET: 'list', POST: 'mint' },
      },
      {
        pattern: [...base, 'tokens', ':name'],
        guard: 'management',
        methods: { GET: h.getToken, PATCH: h.patchToken, DELETE: h.deleteToken },
        operations: { GET: 'lookup', PATCH: 'update', DELETE: 'revoke' },
      },
    );
  }
  return routes;
}

type Match = { route: Route; params: Record<string, string> };

function match(routes: Route[], segments: string[]): Match | undefined {
  outer: for (const route of routes) {
    if (route.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const part = route.pattern[i]!;
      const segment = segments[i]!;
      if (part.startsWith(':')) {
        if (segment.length === 0) continue outer;
        params[part.slice(1)] = segment;
      } else if (part !== segment) {
        continue outer;
      }
    }
    return { route, params };
  }
  return undefined;
}

/** Path segments, percent-decoded; a single trailing slash is tolerated. */
function segmentsOf(url: string): string[] {
  // Not new URL(): a path starting with `//` would be read as a host.
  const pathname = url.split('?')[0]!.split('#')[0]!;
  const trimmed = pathname.replace(/^\/+/, '').replace(/\/$/, '');
  if (trimmed === '') return [];
  try {
    return trimmed.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    throw new ApiError(400, 'invalid_path', 'Request path is not valid percent-encoding');
  }
}

/**
 * The HTTP server: routing and the per-request pipeline (read body → faults → auth → rate limit → handler →
 * answer). Every failure becomes a JSON error; nothing a client sends can throw out of the request handler.
 */
export function createCredentialsApiServer(deps: ServerDeps): { server: Server; shutdown(): void } {
  const routes = buildRoutes(deps);
  const { keyRing, rateLimiter, faults, stats, logger } = deps;
  // Aborted on shutdown: wakes requests sleeping in injected latency so close() is not held up by them.
  const lifetime = new AbortController();

  async function pipeline(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const method = (req.method ?? 'GET').toUpperCase();
    const found = match(routes, segmentsOf(req.url ?? '/'));
    if (!found) throw new ApiError(404, 'not_found', 'No such route');
    const { guard } = found.route;
    // Counted first, so every request that reached a management route shows up, whatever its outcome.
    if (guard === 'management') stats.requests += 1;
    // HEAD behaves like GET (Node drops the body), so load balancer health checks with HEAD work.
    const verb = (method === 'HEAD' ? 'GET' : method) as Method;
    const handler = found.route.methods[verb];
    if (!handler) {
      const allow = Object.keys(found.route.methods).join(', ');
      throw new ApiError(405, 'method_not_allowed', `Method ${method} not allowed; use ${allow}`, { allow });
    }
    // Read the body up front even if unused: it enforces the size limit and keeps the connection reusable.
    const raw = await readBody(req);

    let malformed = false;
    if (guard === 'management') {
      const decision = faults.decide(found.route.operations?.[verb]);
      if (decision.latencyMs > 0) {
        await sleep(decision.latencyMs, undefined, { signal: lifetime.signal }).catch(() => {});
        // The client gave up (or we are shutting down) during the delay: drop the request without effect, so
        // latency alone never produces a half-done operation.
        if (res.destroyed || lifetime.signal.aborted) return 0;
      }
      switch (decision.action.kind) {
        case 'timeout':
          hold(res);
          return 0;
        case 'error':
          throw new ApiError(503, 'service_unavailable', 'Injected fault: service unavailable');
        case 'rateLimited':
          stats.rateLimited += 1;
          throw new ApiError(429, 'rate_limited', 'Injected fault: rate limited', {
            'retry-after': String(decision.action.retryAfterSeconds),
          });
        case 'malformed':
          malformed = true;
          break;
        case 'none':
          break;
      }
    }

    const principal = guard === 'open' ? undefined : keyRing.authenticate(req.headers);
    if (guard !== 'open' && !principal) throw unauthorized();
    if (guard === 'management' && rateLimiter && principal) {
      const decision = rateLimiter.take(principal.id);
      if (!decision.allowed) {
        stats.rateLimited += 1;
        throw rateLimited(decision.retryAfterSeconds);
      }
    }

    let parsed: { value: unknown } | undefined;
    const ctx: RequestContext = {
      params: found.params,
      headers: req.headers,
      principal,
      json: () => {
        parsed ??= { value: parseJson(raw) };
        return parsed.value;
      },
    };
    const reply = await handler(ctx);
    if (malformed) {
      // Truncated JSON: parseable by nothing. Built from the value-free view so no part of a token leaks.
      const full = JSON.stringify(reply.redacted ?? reply.body ?? { status: reply.status });
      sendRaw(res, 200, full.slice(0, Math.max(1, Math.floor(full.length / 2))), 'application/json; charset=utf-8');
      return 200;
    }
    send(res, reply);
    return reply.status;
  }

  /** Never answer; the client's timeout ends it. Bounded, and cleaned up when the socket closes. */
  function hold(res: ServerResponse) {
    const timer = setTimeout(() => res.socket?.destroy(), MAX_HOLD_MS);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    const started = performance.now();
    pipeline(req, res)
      .then((status) => log(req, status, started))
      .catch((error: unknown) => {
        if (error instanceof ApiError) {
          sendError(res, error);
          log(req, error.status, started);
          return;
        }
        logger.error({ err: error, method: req.method, path: pathOnly(req) }, 'credentials-api: request failed');
        sendError(res, new ApiError(500, 'internal_error', 'Internal server error'));
      });
  });

  function log(req: IncomingMessage, status: number, started: number) {
    logger.debug(
      { method: req.method, path: pathOnly(req), status, durationMs: Math.round(performance.now() - started) },
      'credentials-api: request',
    );
  }

  return {
    server,
    shutdown() {
      lifetime.abort();
    },
  };
}

/**
 * Paths hold ids and names. The query string is dropped and anything shaped like a token value is masked, in case
 * a client put a secret where a name belongs.
 */
function pathOnly(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!.replace(/rsa_live_[A-Za-z0-9_-]*/g, 'rsa_live_[REDACTED]');
}

function send(res: ServerResponse, reply: Reply) {
  if (reply.text !== undefined) {
    sendRaw(res, reply.status, reply.text, 'text/plain; charset=utf-8');
  } else if (reply.status === 204 || reply.body === undefined) {
    sendRaw(res, reply.status, '', undefined);
  } else {
    sendJson(res, reply.status, reply.body);
  }
}
