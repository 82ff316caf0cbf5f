// The egress connector and the transport that uses it, against a real HTTP server on 127.0.0.1. Host names are
// resolved by a test lookup that answers only with loopback addresses, so nothing here connects anywhere but
// loopback; a refusal is proved by the server seeing no connection at all.
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import {
  EgressDeniedError,
  egressConnector,
  type LookupFunction,
} from '../../../src/providers/transport/egress-connector.ts';
import { buildEgressPolicy, DEFAULT_EGRESS_POLICY } from '../../../src/providers/transport/egress-policy.ts';
import { HttpTransport, MAX_ERROR_BODY_BYTES } from '../../../src/providers/transport/transport.ts';
import type { ProviderDeps } from '../../../src/providers/types.ts';
import { providerError } from './helpers.ts';

let server: Server;
let port: number;
let connections = 0;
const seen: Array<{ url: string; host: string | undefined }> = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('{"ok":true}');

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', host: req.headers.host });
    handler(req, res);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  connections = 0;
  seen.length = 0;
  handler = (_req, res) => res.end('{"ok":true}');
});

/** A lookup that answers from a table (loopback addresses only) and records what it was asked. */
function fakeLookup(answers: Record<string, string[] | string[][]>): LookupFunction & { asked: string[] } {
  const asked: string[] = [];
  const calls = new Map<string, number>();
  const lookup = ((hostname, _options, callback) => {
    asked.push(hostname);
    const entry = answers[hostname];
    if (!entry) {
      const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      error.code = 'ENOTFOUND';
      queueMicrotask(() => callback(error, []));
      return;
    }
    // A list of lists answers differently on each call (a rebinding DNS server).
    const n = calls.get(hostname) ?? 0;
    calls.set(hostname, n + 1);
    const list = (Array.isArray(entry[0]) ? (entry as string[][])[Math.min(n, entry.length - 1)] : entry) as string[];
    for (const address of list) {
      if (!/^(127\.|::1$|::ffff:127\.)/.test(address)) throw new Error(`test lookup must stay on loopback: ${address}`);
    }
    const addresses: LookupAddress[] = list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    queueMicrotask(() => callback(null, addresses));
  }) as LookupFunction & { asked: string[] };
  lookup.asked = asked;
  return lookup;
}

function agent(options: Parameters<typeof egressConnector>[0]): Agent {
  const a = new Agent({ connect: egressConnector(options) });
  agents.push(a);
  return a;
}

async function refusal(promise: Promise<unknown>): Promise<EgressDeniedError> {
  try {
    await promise;
  } catch (error) {
    const denied = EgressDeniedError.find(error);
    if (denied) return denied;
    throw error;
  }
  throw new Error('expected an egress refusal, the request succeeded');
}

describe('egress connector', () => {
  it('refuses a host name that resolves to loopback under the default policy, before connecting', async () => {
    const lookup = fakeLookup({ 'api.vendor.test': ['127.0.0.1'] });
    const dispatcher = agent({ policy: DEFAULT_EGRESS_POLICY, lookup });
    const denied = await refusal(request(`http://api.vendor.test:${port}/v1/tokens`, { dispatcher }));
    expect(denied.code).toBe('ETOKENSYNC_EGRESS_DENIED');
    expect(denied.message).toContain('api.vendor.test resolved to 127.0.0.1 is in 127.0.0.0/8, loopback');
    expect(lookup.asked).toEqual(['api.vendor.test']);
    expect(connections).toBe(0);
  });

  it('connects to the resolved address when the policy allows it, keeping the host name for the request', async () => {
    const lookup = fakeLookup({ 'api.vendor.test': ['127.0.0.1'] });
    const dispatcher = agent({ policy: buildEgressPolicy({ allow: ['127.0.0.1'] }), lookup });
    const response = await request(`http://api.vendor.test:${port}/v1/tokens`, { dispatcher });
    expect(response.statusCode).toBe(200);
    await response.body.text();
    expect(seen).toEqual([{ url: '/v1/tokens', host: `api.vendor.test:${port}` }]);
  });

  it('refuses when any one of the addresses DNS returns is denied, even if another is allowed', async () => {
    const lookup = fakeLookup({ 'api.vendor.test': ['127.0.0.1', '127.0.0.2'] });
    const dispatcher = agent({ policy: buildEgressPolicy({ allow: ['127.0.0.1'] }), lookup });
    const denied = await refusal(request(`http://api.vendor.test:${port}/`, { dispatcher }));
    expect(denied.message).toContain('api.vendor.test resolved to 127.0.0.2');
    expect(connections).toBe(0);
  });

  it('checks again on every new connection, so a DNS answer that changes (rebinding) is refused', async () => {
    const lookup = fakeLookup({ 'api.vendor.test': [['127.0.0.1'], ['127.0.0.2']] });
    const dispatcher = agent({ policy: buildEgressPolicy({ allow: ['127.0.0.1'] }), lookup });
    handler = (_req, res) => res.setHeader('connection', 'close').end('{}');
    const first = await request(`http://api.vendor.test:${port}/first`, { dispatcher });
    expect(first.statusCode).toBe(200);
    await first.body.text();
    const denied = await refusal(request(`http://api.vendor.test:${port}/second`, { dispatcher }));
    expect(denied.message).toContain('resolved to 127.0.0.2');
    expect(seen.map((s) => s.url)).toEqual(['/first']);
    expect(lookup.asked).toEqual(['api.vendor.test', 'api.vendor.test']);
  });

  it('refuses a literal address in the URL without asking DNS, IPv4 and IPv6 alike', async () => {
    const lookup = fakeLookup({});
    const dispatcher = agent({ policy: buildEgressPolicy({ allow: ['127.0.0.1'] }), lookup });
    const v4 = await refusal(request(`http://127.0.0.2:${port}/`, { dispatcher }));
    expect(v4.message).toContain('127.0.0.2 (the address in spec.url) is in 127.0.0.0/8, loopback');
    const v6 = await refusal(request(`http://[::1]:${port}/`, { dispatcher }));
    expect(v6.message).toContain('::1 (the address in spec.url) is in ::1/128, loopback');
    const mapped = await refusal(request(`http://[::ffff:127.0.0.2]:${port}/`, { dispatcher }));
    expect(mapped.message).toContain('the IPv4-mapped form of 127.0.0.2');
    expect(lookup.asked).toEqual([]);
    expect(connections).toBe(0);
  });

  it('sees the address URL parsing normalised, so IPv4 shorthands of loopback are refused too', async () => {
    const dispatcher = agent({ policy: DEFAULT_EGRESS_POLICY, lookup: fakeLookup({}) });
    for (const host of ['127.1', '0x7f.0.0.1', '2130706433', '0177.0.0.1']) {
      const denied = await refusal(request(`http://${host}:${port}/`, { dispatcher }));
      expect(denied.message, host).toContain('127.0.0.1 (the address in spec.url)');
    }
    expect(connections).toBe(0);
  });

  it('applies to https:// too: the TLS connection resolves through the same checked lookup', async () => {
    const lookup = fakeLookup({ 'api.vendor.test': ['::1'] });
    const dispatcher = agent({ policy: DEFAULT_EGRESS_POLICY, lookup });
    const denied = await refusal(request(`https://api.vendor.test:${port}/`, { dispatcher }));
    expect(denied.message).toContain('api.vendor.test resolved to ::1 is in ::1/128');
    expect(connections).toBe(0);
  });

  it('passes DNS failures through unchanged (not an egress refusal)', async () => {
    const dispatcher = agent({ policy: DEFAULT_EGRESS_POLICY, lookup: fakeLookup({}) });
    const error = await request(`http://nowhere.test:${port}/`, { dispatcher }).catch((e: unknown) => e);
    expect(EgressDeniedError.find(error)).toBeUndefined();
    expect((error as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
  });
});

describe('HttpTransport with the egress policy', () => {
  const transport = (url: string, deps: ProviderDeps) =>
    new HttpTransport({
      provider: 'iomete',
      baseUrl: url,
      allowInsecureHttp: true,
      timeoutMs: 5000,
      credential: new SecretValue('mgmt_key_DO_NOT_LEAK_0123456789'),
      deps,
    });

  it('turns a refusal into a Permanent error that names the address, the rule and the flag', async () => {
    const codes: Array<number | 'error'> = [];
    const t = transport(`http://api.vendor.test:${port}`, {
      lookup: fakeLookup({ 'api.vendor.test': ['127.0.0.1'] }),
      onRequest: (e) => codes.push(e.statusCode),
    });
    try {
      const error = await providerError(t.call({ operation: 'issue', method: 'POST', path: '/tokens', json: {} }));
      expect(error.code).toBe('Permanent');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(
        /^iomete issue: egress denied: api\.vendor\.test resolved to 127\.0\.0\.1 is in 127\.0\.0\.0\/8, loopback, denied by default\. To allow it, a platform administrator adds "127\.0\.0\.1\/32" to the controller flag --egress-allow \(Helm value egress\.allow\)/,
      );
      expect(codes).toEqual(['error']);
      expect(connections).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('with no policy given, denies loopback: the default is never "allow everything"', async () => {
    const t = transport(`http://127.0.0.1:${port}`, {});
    try {
      expect((await providerError(t.call({ operation: 'check', method: 'GET', path: '/' }))).message).toContain(
        'egress denied: 127.0.0.1',
      );
      expect(connections).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('an explicit allow reaches the loopback server', async () => {
    const t = transport(`http://127.0.0.1:${port}`, { egress: buildEgressPolicy({ allow: ['127.0.0.1'] }) });
    try {
      expect((await t.call({ operation: 'check', method: 'GET', path: '/' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  describe('responses', () => {
    const allowed = () =>
      transport(`http://127.0.0.1:${port}`, { egress: buildEgressPolicy({ allow: ['127.0.0.1'] }) });

    it('a 3xx is Permanent, names only the Location host, and is never followed', async () => {
      handler = (req, res) => {
        if (req.url === '/tokens') {
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam?token=abc' }).end();
        } else res.end('{}');
      };
      const t = allowed();
      try {
        const error = await providerError(t.call({ operation: 'issue', method: 'POST', path: '/tokens', json: {} }));
        expect(error.code).toBe('Permanent');
        expect(error.statusCode).toBe(302);
        expect(error.message).toBe(
          'iomete issue: HTTP 302 redirect to 169.254.169.254 not followed (tokensync never follows redirects; set spec.url to the address that answers)',
        );
        expect(seen.map((s) => s.url)).toEqual(['/tokens']);
      } finally {
        await t.close();
      }
    });

    it('a relative Location is named by the host it resolves to', async () => {
      handler = (_req, res) => res.writeHead(307, { location: '/elsewhere' }).end();
      const t = allowed();
      try {
        const error = await providerError(t.call({ operation: 'lookup', method: 'GET', path: '/x' }));
        expect(error.message).toContain(`redirect to 127.0.0.1:${port} not followed`);
      } finally {
        await t.close();
      }
    });

    it('an error body larger than the cap is read only in part: a 5xx stays Transient, a 401 Permanent', async () => {
      let written = 0;
      const huge = (status: number) => (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 'e');
        const pump = () => {
          // Stops when the client hangs up; never more than 8 MiB.
          while (written < 8 * 1024 * 1024 && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      };
      const t = allowed();
      try {
        handler = huge(503);
        const transientError = await providerError(t.call({ operation: 'issue', method: 'POST', path: '/a' }));
        expect(transientError.code).toBe('Transient');
        expect(transientError.statusCode).toBe(503);
        handler = huge(401);
        written = 0;
        const permanentError = await providerError(t.call({ operation: 'issue', method: 'POST', path: '/b' }));
        expect(permanentError.code).toBe('Permanent');
        expect(permanentError.message).toMatch(/^iomete issue: HTTP 401/);
        expect(permanentError.message.length).toBeLessThan(1000);
        expect(written).toBeLessThan(8 * 1024 * 1024);
        expect(MAX_ERROR_BODY_BYTES).toBe(64 * 1024);
      } finally {
        await t.close();
      }
    });
  });
});
