/**
 * Adapter overhead per call: N issue+revoke pairs through the `reference` adapter (limiter, timeout signal,
 * body cap, zod parsing, status mapping, SecretValue, the egress connector) versus the same HTTP calls made with bare undici `request`
 * on an equivalent keep-alive Agent. Two targets, both in-process on loopback:
 *   - the bundled reference credentials API (realistic server cost);
 *   - a trivial node:http server answering canned JSON (isolates the client-side cost).
 * Adapter and bare alternate every 50 pairs (load on a shared machine hits both alike); the median round is
 * reported.
 *
 *   npx node bench/providers.bench.ts            # N=400 pairs, 5 rounds
 *   BENCH_N=1000 BENCH_ROUNDS=7 npx node bench/providers.bench.ts   (N capped at 5000, rounds at 15)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { startCredentialsApi } from '../src/credentials-api/index.ts';
import { TokenBucket } from '../src/providers/rate-limiter.ts';
import { createProviderClient } from '../src/providers/registry.ts';
import { SecretValue } from '../src/providers/secret-value.ts';
import { buildEgressPolicy, decideEgress } from '../src/providers/transport/egress-policy.ts';
import type { IssueRequest, ProviderClient } from '../src/providers/types.ts';

const N = Math.min(5000, Math.max(10, Number(process.env['BENCH_N'] ?? 400)));
const ROUNDS = Math.min(15, Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 5)));
const SA = 'bench-sa';

interface Target {
  label: string;
  url: string;
  key: string;
  close(): Promise<void>;
}

async function cannedServer(): Promise<Target> {
  const created = (name: string) =>
    JSON.stringify({
      name,
      token: `rsa_live_${'x'.repeat(40)}`,
      createdAt: '2030-01-01T00:00:00Z',
      expiresAt: null,
      readOnly: false,
      scopes: [],
      maxRps: null,
      status: 'ACTIVE',
      description: 'tokensync bench/bench uid=0',
    });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') {
        const body = created('t');
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    label: 'canned node:http',
    url: `http://127.0.0.1:${port}`,
    key: 'bench_key_0123456789',
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function referenceServer(): Promise<Target> {
  const api = await startCredentialsApi({ port: 0, rateLimit: false });
  return { label: 'reference server', url: api.url, key: api.adminKey, close: () => api.close() };
}

const issueRequest = (name: string): IssueRequest => ({
  serviceAccount: SA,
  name,
  readOnly: false,
  scopes: [],
  attributes: {},
  owner: { namespace: 'bench', name: 'bench', uid: '0' },
});

/** Pairs per slice: adapter and bare alternate every slice so load changes on a shared machine hit both alike. */
const SLICE = 50;

async function runAdapter(client: ProviderClient, round: number, from = 0, to = N): Promise<number> {
  const started = performance.now();
  for (let i = from; i < to; i++) {
    const issued = await client.issue(issueRequest(`a-${round}-${i}`));
    await client.revoke({ id: issued.id, name: issued.name, serviceAccount: SA });
  }
  return performance.now() - started;
}

async function runBare(agent: Agent, target: Target, round: number, from = 0, to = N): Promise<number> {
  const base = `${target.url}/api/v1/auth/service-accounts/${SA}/tokens`;
  const headers = { authorization: `Bearer ${target.key}`, 'content-type': 'application/json' };
  const started = performance.now();
  for (let i = from; i < to; i++) {
    const name = `b-${round}-${i}`;
    const body = JSON.stringify({
      name,
      expiresAt: null,
      readOnly: false,
      scopes: [],
      description: 'tokensync bench/bench uid=0',
    });
    const created = await request(base, { method: 'POST', headers, body, dispatcher: agent });
    const json = (await created.body.json()) as { name: string; token: string };
    if (created.statusCode !== 201 || typeof json.token !== 'string') throw new Error('bare issue failed');
    const deleted = await request(`${base}/${encodeURIComponent(name)}`, {
      method: 'DELETE',
      headers,
      dispatcher: agent,
    });
    await deleted.body.dump();
  }
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function bench(target: Target): Promise<void> {
  const client = createProviderClient(
    {
      type: 'reference',
      url: target.url,
      credential: new SecretValue(target.key),
      allowInsecureHttp: true,
      rateLimit: { requestsPerSecond: 1e6, burst: 1e6 },
      timeoutMs: 10_000,
    },
    // The servers listen on loopback, which the egress policy denies unless allowed (as a platform team would).
    {
      limiter: new TokenBucket({ requestsPerSecond: 1e6, burst: 1e6 }),
      egress: buildEgressPolicy({ allow: ['127.0.0.1'] }),
    },
  );
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 16 });
  // Warm-up: JIT, connections, server state.
  await runAdapter(client, -1);
  await runBare(agent, target, -1);
  const adapter: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let a = 0;
    let b = 0;
    for (let from = 0; from < N; from += SLICE) {
      const to = Math.min(N, from + SLICE);
      a += await runAdapter(client, round, from, to);
      b += await runBare(agent, target, round, from, to);
    }
    adapter.push(a);
    bare.push(b);
  }
  await client.close?.();
  await agent.close();
  const calls = 2 * N;
  const a = (median(adapter) * 1000) / calls;
  const b = (median(bare) * 1000) / calls;
  console.log(
    `${target.label.padEnd(18)} adapter ${a.toFixed(1).padStart(7)} µs/call   bare undici ${b
      .toFixed(1)
      .padStart(7)} µs/call   ratio ${(a / b).toFixed(2)}   overhead ${(a - b).toFixed(1)} µs/call`,
  );
}

console.log(`providers bench: ${N} issue+revoke pairs (${2 * N} calls) per round, median of ${ROUNDS} rounds`);
// The egress decision runs once per new connection (keep-alive reuses it), for every address DNS returned: its cost
// next to a connection's is what matters. A policy of a realistic size, a mix of addresses in every form.
{
  const policy = buildEgressPolicy({
    allow: ['vault.corp', '*.corp.example', '10.20.0.0/16', '127.0.0.1'],
    serviceCidrs: ['10.96.0.0/12', 'fd00:10:96::/112'],
    podCidrs: ['10.244.0.0/16', 'fd00:10:244::/56'],
  });
  const targets = [
    { address: '93.184.215.14' },
    { address: '2606:4700::1111' },
    { address: '10.96.0.10', host: 'vault.corp' },
    { address: '::ffff:169.254.169.254' },
    { address: '127.0.0.1' },
    { address: '64:ff9b::a00:1' },
  ];
  const count = 200_000;
  for (let i = 0; i < 20_000; i++) decideEgress(targets[i % targets.length]!, policy);
  const started = performance.now();
  for (let i = 0; i < count; i++) decideEgress(targets[i % targets.length]!, policy);
  const ns = ((performance.now() - started) * 1e6) / count;
  console.log(`egress decision    ${(ns / 1000).toFixed(2)} µs per address (pure function, once per new connection)`);
}

for (const make of [cannedServer, referenceServer]) {
  const target = await make();
  try {
    await bench(target);
  } finally {
    await target.close();
  }
}
