// The /metrics endpoint. It streams the exposition as Metrics.render() produces it (a chunk of tokens at a time,
// gzip-compressed off the event loop when the scraper accepts it, which Prometheus does), so a scrape of 100,000
// tokens neither blocks reconciles nor builds one big string. With `secure`, it is the controller-runtime secure
// metrics server: HTTPS (the given certificate, or a self-signed one) and every request authenticated with a
// TokenReview and authorized with a SubjectAccessReview (metrics-auth.ts). docs/decisions/secure-metrics-by-default.md explains
// the default.
import { readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import { listen } from './health.ts';
import type { MetricsAuthorizer } from './metrics-auth.ts';
import { selfSignedCertificate } from './self-signed.ts';

export interface MetricsSource {
  render(): AsyncIterable<string>;
  readonly contentType: string;
}

export interface SecureMetricsOptions {
  authorizer: MetricsAuthorizer;
  /** Directory with tls.crt and tls.key (re-read when they change); empty: a self-signed certificate. */
  certDir?: string;
  clock: Clock;
  /** How often certDir is checked for a renewed certificate (default one minute). */
  certReloadIntervalMs?: number;
}

export interface MetricsServer {
  url: string;
  /** The serving certificate (PEM) when secure: a scraper may pin it. */
  certificate?: string;
  close(): Promise<void>;
}

/** How often a mounted certificate is checked for rotation (cert-manager renews the Secret in place). */
const CERT_RELOAD_INTERVAL_MS = 60_000;

export async function startMetricsServer(
  bind: string,
  metrics: MetricsSource,
  options: { secure?: SecureMetricsOptions; logger?: Logger } = {},
): Promise<MetricsServer> {
  const { secure, logger } = options;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res, metrics, secure?.authorizer).catch((error: unknown) => {
      logger?.warn({ err: error }, 'metrics request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
  if (!secure) {
    const server = createHttpServer(handler);
    const url = await listen(server, bind);
    return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  const load = secure.certDir ? () => readCertDir(secure.certDir!) : undefined;
  const initial = load
    ? load()
    : selfSignedCertificate({ hosts: [hostname(), 'localhost', '127.0.0.1'], now: new Date(secure.clock.now()) });
  const server = createHttpsServer({ cert: initial.cert, key: initial.key, minVersion: 'TLSv1.2' }, handler);
  let reload: NodeJS.Timeout | undefined;
  if (load) {
    let stamp = certStamp(secure.certDir!);
    reload = setInterval(() => {
      try {
        const next = certStamp(secure.certDir!);
        if (next === stamp) return;
        server.setSecureContext(load());
        stamp = next;
        logger?.info({ certDir: secure.certDir }, 'metrics serving certificate reloaded');
      } catch (error) {
        logger?.warn({ err: error, certDir: secure.certDir }, 'metrics serving certificate not reloaded');
      }
    }, secure.certReloadIntervalMs ?? CERT_RELOAD_INTERVAL_MS);
    reload.unref();
  }
  const url = await listen(server, bind, 'https');
  return {
    url,
    certificate: initial.cert,
    close: () =>
      new Promise((resolve) => {
        clearInterval(reload);
        server.close(() => resolve());
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: MetricsSource,
  authorizer: MetricsAuthorizer | undefined,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (authorizer) {
    const decision = await authorizer.check(req.headers.authorization, 'get', '/metrics');
    if (!decision.allowed) {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (decision.status === 401) headers['www-authenticate'] = 'Bearer realm="tokensync metrics"';
      const text = { 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal Server Error' }[decision.status];
      res.writeHead(decision.status, headers).end(`${text}\n`);
      return;
    }
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, {
    'content-type': metrics.contentType,
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    vary: 'Accept-Encoding',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const body = Readable.from(metrics.render(), { objectMode: false });
  // Fastest compression: a 100,000-token scrape compresses ~15x even so, and zlib runs on libuv's thread pool.
  if (gzip) await pipeline(body, createGzip({ level: constants.Z_BEST_SPEED }), res);
  else await pipeline(body, res);
}

function readCertDir(dir: string): { cert: string; key: string } {
  return { cert: readFileSync(join(dir, 'tls.crt'), 'utf8'), key: readFileSync(join(dir, 'tls.key'), 'utf8') };
}

function certStamp(dir: string): string {
  return ['tls.crt', 'tls.key'].map((f) => statSync(join(dir, f)).mtimeMs).join('/');
}
