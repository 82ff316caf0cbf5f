// R4, the value is checked before it lands: a credentials API that answers an empty value, a value with a newline,
// or one too large for a Secret gets ValueRejected with a message saying which, the minted token is revoked
// upstream at once, and the next attempt waits out a permanent backoff (no hot loop). The upstream is a tiny
// stand-in server on loopback behind the generic `http` provider type, so it can answer what no real API should.
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { readyOf } from './rules.ts';

const h = new Harness();
const NS = 'values';

/** What the stand-in answers for a service account's mints (by the service account's name). */
const VALUES: Record<string, () => string> = {
  empty: () => '',
  newline: () => 'sekrit-first-line\nsecond-line',
  escape: () => 'sekrit\u001b[31m-with-an-escape',
  // 600 kB is a fine HTTP answer, but the template writes it twice: 1.2 MB of Secret data.
  large: () => `sekrit-${'x'.repeat(600_000)}`,
  good: () => `sekrit-good-${Math.random().toString(36).slice(2)}`,
};

interface StandInToken {
  id: string;
  name: string;
  serviceAccount: string;
  value: string;
  live: boolean;
}

/** The stand-in credentials API: mint, revoke by id, lookup by name; it keeps every token it ever minted. */
class StandIn {
  readonly tokens: StandInToken[] = [];
  mode: Record<string, string> = {};
  server!: Server;
  url!: string;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#handle(req.method!, req.url!, Buffer.concat(chunks).toString('utf8'), res));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  #handle(method: string, url: string, body: string, res: ServerResponse): void {
    const json = (status: number, data?: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(data === undefined ? '' : JSON.stringify(data));
    };
    const mint = /^\/sa\/([^/]+)\/keys$/.exec(url);
    const byId = /^\/sa\/([^/]+)\/keys\/([^/]+)$/.exec(url);
    const byName = /^\/sa\/([^/]+)\/names\/([^/]+)$/.exec(url);
    if (method === 'POST' && mint) {
      const sa = decodeURIComponent(mint[1]!);
      const { name } = JSON.parse(body) as { name: string };
      if (this.tokens.some((t) => t.live && t.name === name)) {
        json(409, { error: 'exists' });
        return;
      }
      const value = VALUES[this.mode[sa] ?? sa]!();
      const token = { id: `k-${this.tokens.length + 1}`, name, serviceAccount: sa, value, live: true };
      this.tokens.push(token);
      json(201, { key: { id: token.id, secret: value } });
      return;
    }
    if (method === 'DELETE' && byId) {
      const token = this.tokens.find((t) => t.live && t.id === decodeURIComponent(byId[2]!));
      if (token) token.live = false;
      json(token ? 204 : 404, token ? undefined : { error: 'not found' });
      return;
    }
    if (method === 'GET' && byName) {
      const token = this.tokens.find((t) => t.live && t.name === decodeURIComponent(byName[2]!));
      json(token ? 200 : 404, token ? { key: { id: token.id } } : { error: 'not found' });
      return;
    }
    json(404, { error: 'no route' });
  }

  of(sa: string): StandInToken[] {
    return this.tokens.filter((t) => t.serviceAccount === sa);
  }
}

const standIn = new StandIn();

beforeAll(async () => {
  await standIn.start();
  await h.start();
  await h.startController();
  await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await h.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'standin-admin', namespace: NS, labels: { 'tokensync.io/credential': 'true' } },
    stringData: { token: 'standin-admin-key' },
  });
  await h.apply({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'CredentialsProvider',
    metadata: { name: 'standin', namespace: NS },
    spec: {
      type: 'http',
      url: standIn.url,
      allowInsecureHttp: true,
      auth: { secretRef: { name: 'standin-admin', key: 'token' } },
      http: {
        issue: { method: 'POST', path: '/sa/{serviceAccount}/keys', body: '{"name": {{ .tokenName }}}' },
        revoke: { method: 'DELETE', path: '/sa/{serviceAccount}/keys/{tokenId}' },
        lookup: { method: 'GET', path: '/sa/{serviceAccount}/names/{tokenName}' },
        valuePointer: '/key/secret',
        idPointer: '/key/id',
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await h.stop();
  standIn.server?.close();
});

const spec = (serviceAccount: string) => ({
  providerRef: { name: 'standin' },
  serviceAccount,
  lifetime: undefined,
  // Two keys holding the value: a .env line and the bare token.
  secret: { template: { token: '{{ .token }}', 'app.env': 'API_TOKEN={{ .token }}' } },
});

async function token(name: string): Promise<ServiceAccountToken> {
  return (await h.getToken(NS, name))!;
}

describe('a value that cannot be stored (R4)', () => {
  const cases: Array<[string, RegExp]> = [
    ['empty', /^Token .* was minted but not stored: the credentials API returned an empty token value$/],
    [
      'newline',
      /^Token .* was minted but not stored: the token value contains a control character \(U\+000A at offset 17\); it would break env files and headers$/,
    ],
    ['escape', /contains a control character \(U\+001B at offset 6\)/],
    [
      'large',
      /^Token .* was minted but not stored: the rendered Secret data is over 524288 bytes \(reached at key "app\.env"\); the API server stores at most 1 MiB per object and base64 adds a third: use fewer or smaller template keys$/,
    ],
  ];

  it('is refused with ValueRejected and a message saying why; the token is revoked upstream; no hot loop', async () => {
    for (const [sa] of cases) await h.createToken(NS, sa, spec(sa));
    await h.createToken(NS, 'good', spec('good'));
    await waitFor('the control token Ready', async () => isReady(await token('good')));

    for (const [sa, message] of cases) {
      const sat = await waitFor(`${sa}: ValueRejected`, async () => {
        const s = await token(sa);
        return readyOf(s)?.reason === 'ValueRejected' ? s : undefined;
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify((await token(sa)).status)}`);
      });
      expect(readyOf(sat)).toMatchObject({ status: 'False', reason: 'ValueRejected' });
      expect(readyOf(sat)?.message, sa).toMatch(message);
      expect(sat.status?.lastFailureReason).toBe('ValueRejected');
      expect(
        h.events.some((e) => e.name === sa && e.reason === 'ValueRejected' && e.type === 'Warning'),
        `${sa}: a Warning Event`,
      ).toBe(true);
    }

    // Let the loop show itself if there is one: the next attempt is a permanent backoff away (30 s ±20%).
    await new Promise((r) => setTimeout(r, 8000));
    for (const [sa] of cases) {
      const minted = standIn.of(sa);
      expect(
        minted.map((t) => t.live),
        `${sa}: one token minted, and revoked`,
      ).toEqual([false]);
      const status = (await token(sa)).status!;
      expect(status.failureCount, sa).toBe(1);
      expect(Date.parse(status.nextAttemptAt!) - Date.parse(status.lastFailureTime!), sa).toBeGreaterThanOrEqual(
        20_000,
      );
      // The value itself is nowhere: not in status, not in Events, not in logs.
      const value = minted[0]!.value;
      if (value) {
        expect(JSON.stringify(status)).not.toContain(value.slice(0, 12));
        expect(h.events.filter((e) => e.message.includes(value.slice(0, 12)))).toEqual([]);
        expect(h.logs.leaks([value.slice(0, 12)])).toEqual([]);
      }
    }
    expect(standIn.of('good').filter((t) => t.live)).toHaveLength(1);
  }, 120_000);

  it('is issued as soon as the credentials API answers a good value again and the user asks for it', async () => {
    standIn.mode['newline'] = 'good';
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: { name: 'newline', namespace: NS, annotations: { 'tokensync.io/renew-requested-at': 'fixed' } },
      spec: spec('newline'),
    });
    await waitFor('newline Ready', async () => isReady(await token('newline')));
    const data = await h.getSecretData(NS, 'newline');
    expect(data?.['app.env']).toMatch(/^API_TOKEN=sekrit-good-/);
    // Every value refused before (one per permanent backoff) is revoked; the good one is live.
    const minted = standIn.of('newline').map((t) => t.live);
    expect(minted.at(-1)).toBe(true);
    expect(minted.slice(0, -1).every((live) => !live)).toBe(true);
  });
});
