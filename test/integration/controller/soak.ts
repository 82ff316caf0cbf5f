// The chaos soak, shared by the CI test (soak.test.ts, 60 s) and the benchmark (bench/soak.bench.ts, 10 min):
// resources created, deleted, edited, renewed, their Secrets deleted, whole namespaces deleted, while the
// controller process is SIGKILLed every few seconds and the credentials API answers errors, timeouts and latency.
// At every kill, with no controller running, R1 is checked against the credentials API's live tokens. At the end,
// with a clean controller and no faults: every resource Ready or gone, live tokens exactly the current ones, every
// Secret present and holding a live token, no namespace stuck.
import { kubeRequest, statusCodeOf } from '../../../src/kube/client.ts';
import { type Harness, waitFor } from './harness.ts';
import { ControllerProcess } from './process.ts';
import { leaks, unsettled } from './rules.ts';

export interface SoakOptions {
  durationMs: number;
  /** Resources alive at most at once. */
  resources: number;
  /** Namespaces alive at once (a deleted one is replaced by a new one). */
  namespaces: number;
  /** The controller is killed after a random time in this range. */
  killEveryMs: [number, number];
  /** Pause between two chaos actions, random in this range. */
  actionEveryMs: [number, number];
  /** Upstream faults during the chaos (reference API /_faults). */
  faults: { errorRate: number; timeoutRate: number; latencyMs: number };
  /** How long the clean controller may take to converge at the end. */
  convergeTimeoutMs: number;
  seed: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  seed: number;
  actions: Record<string, number>;
  kills: number;
  /** R1 checked at each kill (no controller running): live upstream tokens no resource referenced. */
  leaksAtKills: string[];
  mints: number;
  revokes: number;
  upstreamRequests: number;
  convergeMs: number;
  resourcesAtEnd: number;
  liveTokensAtEnd: number;
  namespacesDeleted: number;
  /** What was still wrong when convergence timed out (empty: the rules hold). */
  problems: string[];
  /** Controller output lines, for a post-mortem. */
  output: string[];
}

/** A seeded PRNG (LCG), so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

const TOKENS = '/apis/tokensync.io/v1alpha1';

export async function soak(h: Harness, options: SoakOptions): Promise<SoakResult> {
  const random = prng(options.seed);
  const between = ([min, max]: [number, number]) => min + random() * (max - min);
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(random() * items.length)];
  const log = options.log ?? (() => {});
  const actions: Record<string, number> = {};
  const count = (what: string) => {
    actions[what] = (actions[what] ?? 0) + 1;
  };
  const output: string[] = [];
  const leaksAtKills: string[] = [];
  let nsSerial = 0;
  let resourceSerial = 0;
  const liveNamespaces: string[] = [];
  const deletedNamespaces: string[] = [];

  const ignoreGone = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (error) {
      // Gone already, created already, or its namespace is terminating: the chaos moves on.
      const code = statusCodeOf(error);
      if (code !== 404 && code !== 409 && code !== 403) throw error;
    }
  };

  async function addNamespace(): Promise<void> {
    const ns = `soak-${nsSerial++}`;
    await h.setupNamespace(ns);
    // Short upstream timeout: the timeout fault holds a request until the client gives up.
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: 'reference', namespace: ns },
      spec: {
        type: 'reference',
        url: h.api.url,
        allowInsecureHttp: true,
        timeout: '2s',
        auth: { secretRef: { name: 'reference-admin', key: 'token' } },
        rateLimit: { requestsPerSecond: 200, burst: 200 },
      },
    });
    liveNamespaces.push(ns);
  }

  async function tokens(): Promise<Array<{ ns: string; name: string }>> {
    const list = await kubeRequest<{ items: Array<{ metadata: { name: string; namespace: string } }> }>(h.kc, {
      method: 'GET',
      path: `${TOKENS}/serviceaccounttokens`,
    });
    return list.items
      .filter((t) => liveNamespaces.includes(t.metadata.namespace))
      .map((t) => ({ ns: t.metadata.namespace, name: t.metadata.name }));
  }

  const patch = (path: string, body: unknown) =>
    ignoreGone(kubeRequest(h.kc, { method: 'PATCH', path, body, contentType: 'application/merge-patch+json' }));

  async function act(): Promise<void> {
    const existing = await tokens();
    const r = random();
    const target = pick(existing);
    const path = target && `${TOKENS}/namespaces/${target.ns}/serviceaccounttokens/${target.name}`;
    if (existing.length < options.resources && (r < 0.35 || !target)) {
      const ns = pick(liveNamespaces)!;
      const name = `r-${resourceSerial++}`;
      count('create');
      await ignoreGone(
        kubeRequest(h.kc, {
          method: 'POST',
          path: `${TOKENS}/namespaces/${ns}/serviceaccounttokens`,
          body: {
            apiVersion: 'tokensync.io/v1alpha1',
            kind: 'ServiceAccountToken',
            metadata: { name, namespace: ns },
            spec: h.tokenSpec({ serviceAccount: `${ns}-${name}`, rotation: { gracePeriod: '2s' } }),
          },
        }),
      );
    } else if (r < 0.5 && path) {
      count('delete');
      await ignoreGone(kubeRequest(h.kc, { method: 'DELETE', path }));
    } else if (r < 0.62 && path) {
      // A token-shaping edit rotates; a label edit only rewrites the Secret's metadata.
      const edit = pick([
        { readOnly: random() < 0.5 },
        { scopes: [`scope-${Math.floor(random() * 3)}`] },
        { secret: { labels: { tier: `t${Math.floor(random() * 3)}` } } },
      ]);
      count('edit');
      await patch(path, { spec: edit });
    } else if (r < 0.74 && path) {
      count('renew');
      await patch(path, { metadata: { annotations: { 'tokensync.io/renew-requested-at': `soak-${Date.now()}` } } });
    } else if (r < 0.9 && target) {
      count('delete-secret');
      await ignoreGone(
        kubeRequest(h.kc, { method: 'DELETE', path: `/api/v1/namespaces/${target.ns}/secrets/${target.name}` }),
      );
    } else if (r < 0.93 && liveNamespaces.length) {
      const ns = liveNamespaces.splice(Math.floor(random() * liveNamespaces.length), 1)[0]!;
      count('delete-namespace');
      deletedNamespaces.push(ns);
      await ignoreGone(kubeRequest(h.kc, { method: 'DELETE', path: `/api/v1/namespaces/${ns}` }));
      await addNamespace();
    }
  }

  for (let i = 0; i < options.namespaces; i++) await addNamespace();
  await h.admin('POST', '/api/v1/audit/stats/reset');
  await h.admin('PUT', '/_faults', { ...options.faults, seed: options.seed });
  log(`soak: seed ${options.seed}, ${options.durationMs / 1000} s, up to ${options.resources} resources`);

  const deadline = Date.now() + options.durationMs;
  let controller: ControllerProcess | undefined;
  let kills = 0;
  const killer = (async () => {
    while (Date.now() < deadline) {
      controller = new ControllerProcess(h.controllerKubeconfigPath);
      await new Promise((r) => setTimeout(r, Math.min(between(options.killEveryMs), deadline - Date.now())));
      await controller.kill('SIGKILL');
      output.push(...controller.output);
      kills++;
      // R1 with nothing running: every live token is referenced by its resource (the chaos never mints).
      const leaked = await leaks(h);
      if (leaked.length) {
        leaksAtKills.push(...leaked.map((t) => `kill ${kills}: ${t}`));
        log(`soak: R1 violated at kill ${kills}: ${leaked.join(', ')}`);
      }
    }
  })();
  const chaos = (async () => {
    while (Date.now() < deadline) {
      await act().catch((error: unknown) => {
        // The API server sheds load (429) or hiccups (5xx) on this busy machine: skip the action, not the soak.
        const code = statusCodeOf(error) ?? 0;
        if (code !== 429 && code < 500) throw error;
        count('api-busy');
      });
      await new Promise((r) => setTimeout(r, between(options.actionEveryMs)));
    }
  })();
  await Promise.all([killer, chaos]);
  await h.admin('DELETE', '/_faults');
  log(`soak: chaos over (${kills} kills, ${JSON.stringify(actions)}); converging with a clean controller`);

  const settledAt = Date.now();
  controller = new ControllerProcess(h.controllerKubeconfigPath);
  let problems: string[] = [];
  const stuckNamespaces = async () => {
    const stuck: string[] = [];
    for (const ns of deletedNamespaces) {
      try {
        await kubeRequest(h.kc, { method: 'GET', path: `/api/v1/namespaces/${ns}` });
        stuck.push(`namespace ${ns} still there`);
      } catch {
        // gone
      }
    }
    return stuck;
  };
  try {
    await waitFor(
      'the rules to hold after the chaos',
      async () => {
        problems = [...(await stuckNamespaces()), ...(await unsettled(h))];
        return problems.length === 0;
      },
      options.convergeTimeoutMs,
    );
  } catch {
    // problems says what is left
  }
  const convergeMs = Date.now() - settledAt;
  await controller.kill();
  output.push(...controller.output);
  const stats = await h.stats();
  const remaining = await tokens();
  return {
    seed: options.seed,
    actions,
    kills,
    leaksAtKills,
    mints: stats.mints,
    revokes: stats.revokes,
    upstreamRequests: stats.requests,
    convergeMs,
    resourcesAtEnd: remaining.length,
    liveTokensAtEnd: (await h.liveTokens()).length,
    namespacesDeleted: deletedNamespaces.length,
    problems,
    output,
  };
}

/** The figures as printed by the test and the benchmark. */
export function describeSoak(r: SoakResult, durationMs: number): string {
  const actions = Object.entries(r.actions)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return [
    `soak ${durationMs / 1000} s (seed ${r.seed}): ${actions}; ${r.kills} SIGKILLs`,
    `  upstream: ${r.mints} mints, ${r.revokes} revokes, ${r.upstreamRequests} requests (faults included); ledger: mints − revokes = ${r.mints - r.revokes}, live tokens ${r.liveTokensAtEnd}`,
    `  R1 at every kill: ${r.leaksAtKills.length} unreferenced live tokens`,
    `  converged in ${(r.convergeMs / 1000).toFixed(1)} s: ${r.resourcesAtEnd} resources Ready, ${r.liveTokensAtEnd} live tokens, ${r.namespacesDeleted} namespaces deleted and gone`,
    r.problems.length ? `  NOT CONVERGED: ${r.problems.slice(0, 10).join('; ')}` : '  every rule holds',
  ].join('\n');
}
