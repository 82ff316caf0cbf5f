// The /metrics server: streams the exposition (gzip when asked), serves only GET /metrics, maps the authorizer's
// decision to 401/403/500 without leaking metrics, serves HTTPS with a self-signed or a given certificate and picks up
// a renewed one. The authorizer here is a stub of the MetricsAuthorizer interface; its TokenReview/SubjectAccessReview
// implementation is tested against a real API server (test/integration/monitoring/metrics-auth.test.ts).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parseControllerFlags } from '../../../src/cli/controller-flags.ts';
import { realClock } from '../../../src/clock.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import type { AuthDecision, MetricsAuthorizer } from '../../../src/observability/metrics-auth.ts';
import { type MetricsServer, startMetricsServer } from '../../../src/observability/metrics-server.ts';
import { selfSignedCertificate } from '../../../src/observability/self-signed.ts';

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(secure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The subjectAltName of the certificate a fresh TLS handshake with the server presents. */
function servedAltName(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      const altName = socket.getPeerX509Certificate()?.subjectAltName ?? '';
      socket.destroy();
      resolve(altName);
    });
    socket.on('error', reject);
  });
}

function fleet(n: number): Metrics {
  const metrics = new Metrics({ processMetrics: false });
  for (let i = 0; i < n; i++) {
    metrics.observeToken({
      namespace: `ns-${i % 7}`,
      name: `t-${i}`,
      provider: 'p/ref',
      ready: 'True',
      reason: 'Issued',
    });
  }
  return metrics;
}

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('plain metrics server', () => {
  it('streams the whole exposition, gzip-compressed when the scraper asks for it', async () => {
    const metrics = fleet(5_000);
    const server = await startMetricsServer('127.0.0.1:0', metrics);
    servers.push(server);
    const expected = await metrics.text();
    const plain = await get(`${server.url}/metrics`);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe(metrics.contentType);
    expect(plain.body.toString('utf8')).toBe(expected);
    const gzipped = await get(`${server.url}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.body.length).toBeLessThan(expected.length / 5);
    expect(gunzipSync(gzipped.body).toString('utf8')).toBe(expected);
  });

  it('serves only GET and HEAD on /metrics', async () => {
    const server = await startMetricsServer('127.0.0.1:0', fleet(1));
    servers.push(server);
    expect((await get(`${server.url}/`)).status).toBe(404);
    expect((await get(`${server.url}/metrics/extra`)).status).toBe(404);
    expect((await get(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    const head = await get(`${server.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });
});

describe('secure metrics server', () => {
  const calls: Array<string | undefined> = [];
  const authorizer: MetricsAuthorizer = {
    async check(authorization, verb, path): Promise<AuthDecision> {
      calls.push(`${verb} ${path} ${authorization ?? ''}`);
      if (authorization === 'Bearer reader') return { allowed: true, user: 'reader' };
      if (authorization === 'Bearer nosy') return { allowed: false, status: 403, user: 'nosy', reason: 'denied' };
      if (authorization === 'Bearer broken') return { allowed: false, status: 500, reason: 'API server down' };
      return { allowed: false, status: 401, reason: 'no token' };
    },
  };

  it('asks the authorizer for get /metrics and answers 200, 401, 403 or 500 without leaking metrics', async () => {
    const server = await startMetricsServer('127.0.0.1:0', fleet(3), {
      secure: { authorizer, clock: realClock },
    });
    servers.push(server);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await get(`${server.url}/metrics`, { headers: { authorization: 'Bearer reader' } });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toContain('tokensync_token_ready');
    expect(calls).toContain('get /metrics Bearer reader');

    const none = await get(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    for (const [token, status] of [
      ['nosy', 403],
      ['broken', 500],
    ] as const) {
      const r = await get(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(status);
      expect(r.body.toString()).not.toContain('tokensync_');
    }
    // Unknown paths are 404 before any authorization call, so probing costs the API server nothing.
    const before = calls.length;
    expect((await get(`${server.url}/other`)).status).toBe(404);
    expect(calls.length).toBe(before);
  });

  it('serves the certificate from --metrics-cert-dir and picks up a renewed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokensync-certs-'));
    try {
      const first = selfSignedCertificate({ hosts: ['first.example'], now: new Date() });
      writeFileSync(join(dir, 'tls.crt'), first.cert);
      writeFileSync(join(dir, 'tls.key'), first.key);
      const server = await startMetricsServer('127.0.0.1:0', fleet(1), {
        secure: { authorizer, clock: realClock, certDir: dir, certReloadIntervalMs: 50 },
      });
      servers.push(server);
      expect(await servedAltName(server.url)).toBe('DNS:first.example');

      const second = selfSignedCertificate({ hosts: ['second.example'], now: new Date() });
      writeFileSync(join(dir, 'tls.key'), second.key);
      writeFileSync(join(dir, 'tls.crt'), second.cert);
      const deadline = Date.now() + 10_000;
      let altName = '';
      while (Date.now() < deadline) {
        altName = await servedAltName(server.url);
        if (altName === 'DNS:second.example') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(altName).toBe('DNS:second.example');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('self-signed certificate', () => {
  it('is a valid X.509 serving certificate for the given DNS names and IPs, signed by its own key', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const { cert, key } = selfSignedCertificate({ hosts: ['tokensync-abc', 'localhost', '127.0.0.1'], now });
    const x509 = new X509Certificate(cert);
    expect(x509.subjectAltName).toBe('DNS:tokensync-abc, DNS:localhost, IP Address:127.0.0.1');
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(Date.parse(x509.validFrom)).toBeLessThanOrEqual(now.getTime());
    expect(Date.parse(x509.validTo)).toBeGreaterThan(now.getTime() + 300 * 86_400_000);
  });
});

describe('metrics flags', () => {
  it('default to the secure server on :8443 with every per-token series; each can be turned off', () => {
    expect(parseControllerFlags([], {})).toMatchObject({
      'metrics-bind-address': ':8443',
      'metrics-secure': true,
      'token-metrics': 'all',
    });
    expect(parseControllerFlags([], {})['metrics-cert-dir']).toBeUndefined();
    const set = parseControllerFlags(
      ['--metrics-secure=false', '--token-metrics=unhealthy', '--metrics-cert-dir', '/certs'],
      {},
    );
    expect(set).toMatchObject({ 'metrics-secure': false, 'token-metrics': 'unhealthy', 'metrics-cert-dir': '/certs' });
    expect(parseControllerFlags([], { TOKENSYNC_METRICS_SECURE: 'false' })['metrics-secure']).toBe(false);
    expect(() => parseControllerFlags(['--token-metrics=some'], {})).toThrow(/--token-metrics/);
    expect(() => parseControllerFlags(['--metrics-secure=yes'], {})).toThrow(/--metrics-secure/);
  });
});
