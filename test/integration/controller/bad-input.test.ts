// The bad-input table (bad-input-cases.ts), proven against the real API server: each case is refused at admission
// with its message, or accepted and then explained by the Ready condition with its reason and message. Nothing is
// minted that is not revoked, nothing loops, and the controller is alive at the end. docs/operations.md publishes
// the table; BAD_INPUT_TABLE=<file> writes it from this run's real messages.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { kubeRequest } from '../../../src/kube/client.ts';
import { REPO_ROOT } from '../../support/paths.ts';
import { type BadInputCase, CASES, type CaseContext } from './bad-input-cases.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { leaks, readyOf } from './rules.ts';

const h = new Harness();
/** Per case: what the API server said when the object under test was applied (undefined = accepted). */
const refusals = new Map<number, string | undefined>();
/** Per case: the outcome as the table shows it. */
const outcomes = new Map<number, string>();

function context(i: number): CaseContext {
  const ns = `bad-${i}`;
  return {
    ns,
    url: h.api.url,
    adminKey: h.api.adminKey,
    token: (spec = {}, metadata = {}) => ({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: { name: 't', namespace: ns, ...metadata },
      spec: { providerRef: { name: 'reference' }, serviceAccount: `sa-${ns}`, lifetime: '720h', ...spec },
    }),
    provider: (spec = {}, name = 'reference') => ({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name, namespace: ns },
      spec: {
        type: 'reference',
        url: h.api.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'reference-admin', key: 'token' } },
        rateLimit: { requestsPerSecond: 100, burst: 100 },
        ...spec,
      },
    }),
    credential: (o = {}) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: o.name ?? 'reference-admin',
        namespace: ns,
        labels: o.labels ?? { 'tokensync.io/credential': 'true' },
      },
      stringData: o.data ?? { token: h.api.adminKey },
    }),
  };
}

/** kubectl apply, as a user would (server-side, strict field validation); the error text on refusal. */
async function kubectlApply(obj: object): Promise<string | undefined> {
  const result = await h.cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
    input: JSON.stringify(obj),
  });
  return result.code === 0 ? undefined : result.stderr.trim();
}

beforeAll(async () => {
  await h.start();
  await h.startController();
  await Promise.all(
    CASES.map(async (c, i) => {
      const ctx = context(i);
      const created = await h.cp.kubectl(['create', 'namespace', ctx.ns]);
      if (created.code !== 0) throw new Error(created.stderr);
      const setup = c.setup ? c.setup(ctx) : [ctx.credential(), ctx.provider()];
      for (const obj of setup) {
        const refused = await kubectlApply(obj);
        if (refused) throw new Error(`case ${i} (${c.input}): setup refused: ${refused}`);
      }
      // An update case starts from an accepted token: let the controller act on it first.
      if (setup.some((o) => o['kind'] === 'ServiceAccountToken')) {
        await waitFor(`case ${i}: setup token Ready`, async () => isReady(await h.getToken(ctx.ns, 't')));
      }
      refusals.set(i, await kubectlApply(c.apply(ctx)));
    }),
  );
}, 300_000);

afterAll(async () => {
  const table = process.env['BAD_INPUT_TABLE'];
  if (table) {
    // Each case ran in its own namespace; the published table says my-app.
    const rows = CASES.map(
      (c, i) => `| ${cell(c.input)} | ${(outcomes.get(i) ?? '(not run)').replace(/bad-\d+/g, 'my-app')} | ${c.fix} |`,
    );
    writeFileSync(table, ['| Input | Outcome | What to do |', '| --- | --- | --- |', ...rows].join('\n'));
  }
  await h.stop();
});

/** Text for a Markdown table cell: a pipe, even inside a code span, would end the cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Mints and revocations through one namespace's provider (the controller's own counters). */
async function calls(ns: string): Promise<{ mints: number; revokes: number }> {
  const count = async (metric: typeof h.metrics.mints) =>
    (await metric.get()).values
      .filter((v) => v.labels['provider'] === `${ns}/reference` && v.labels['result'] === 'success')
      .reduce((sum, v) => sum + v.value, 0);
  return { mints: await count(h.metrics.mints), revokes: await count(h.metrics.revocations) };
}

describe(`bad input: ${CASES.length} cases, each with its outcome`, () => {
  it.each(CASES.map((c, i) => [i, c.input, c] as [number, string, BadInputCase]))(
    'case %i: %s',
    async (i, _input, c) => {
      const ctx = context(i);
      const refused = refusals.get(i);
      if (c.admission) {
        expect(refused, 'refused at admission').toBeDefined();
        expect(refused).toMatch(c.admission);
        // The part of the API server's answer the case expects, as kubectl prints it.
        outcomes.set(i, `refused at admission: ${cell(refused!.match(c.admission)![0])}`);
        return;
      }
      expect(refused, 'accepted at admission').toBeUndefined();
      let last: ServiceAccountToken | undefined;
      const sat = await waitFor(
        `Ready reason ${c.reason}`,
        async () => {
          last = await h.getToken(ctx.ns, 't');
          return readyOf(last)?.reason === c.reason ? last : undefined;
        },
        45_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; last: ${JSON.stringify(last?.status)}`);
      });
      const ready = readyOf(sat)!;
      expect(ready.status).toBe('False');
      expect(ready.message).toMatch(c.message!);
      outcomes.set(i, `\`${c.reason}\`: ${cell(ready.message.replace(/\n/g, ' '))}`);
      // R1 and R2: at most one mint, and then it was revoked; nothing live for this service account.
      expect(await calls(ctx.ns)).toEqual(c.mintsAndRevokes ? { mints: 1, revokes: 1 } : { mints: 0, revokes: 0 });
      expect((await h.liveTokens()).filter((t) => t.serviceAccountId === `sa-${ctx.ns}`)).toEqual([]);
    },
  );

  it('nothing loops: a few quiet seconds cost the credentials API (almost) no requests', async () => {
    const upstream = async () =>
      new Map(
        (await h.metrics.upstreamRequests.get()).values.map((v) => [
          `${v.labels['provider']} ${v.labels['operation']} ${v.labels['code']}`,
          v.value,
        ]),
      );
    // Every provider has had its first reachability check (one worker does them, one after the other).
    await waitFor('every provider checked', async () => {
      const providers = await kubeRequest<{ items: Array<{ status?: { lastCheckedAt?: string } }> }>(h.kc, {
        method: 'GET',
        path: '/apis/tokensync.io/v1alpha1/credentialsproviders',
      });
      return providers.items.every((p) => p.status?.lastCheckedAt);
    });
    const before = await h.stats();
    const calledBefore = await upstream();
    await new Promise((r) => setTimeout(r, 5000));
    const after = await h.stats();
    const called = [...(await upstream())]
      .map(([k, v]) => [k, v - (calledBefore.get(k) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}: ${n}`);
    expect(after.mints - before.mints).toBe(0);
    // Permanent refusals wait 30 s or more; only a provider check may fall in this window.
    expect(after.requests - before.requests, `upstream calls in 5 s: ${called.join(', ')}`).toBeLessThanOrEqual(5);
  });

  it('nothing leaked, and the controller is alive: a good token is still issued', async () => {
    expect(await leaks(h)).toEqual([]);
    await h.setupNamespace('bad-after');
    await h.createToken('bad-after', 'fine');
    await waitFor('a good token Ready', async () => isReady(await h.getToken('bad-after', 'fine')));
  });

  it('docs/operations.md publishes every case', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8');
    const missing = CASES.filter((c) => !doc.includes(`| ${cell(c.input)} |`)).map((c) => c.input);
    expect(missing).toEqual([]);
  });
});
