// In-use protection's question "does any token still need this provider?", asked on every provider event (a burst of
// creates makes one per token). The baseline is how it was answered before ProviderUsage: copy the token cache into
// an array and scan it for a token referencing the provider. Measured in the same run at 10,000 and 100,000 cached
// tokens, with one provider (the first cached token answers) and with 100 (tokens spread over them, so a scan walks
// half the cache on average); plus what keeping the index costs per cache event.
//
//   npx node bench/provider-usage.bench.ts
// Prints figures; asserts nothing.
import type { ServiceAccountToken } from '../src/api/v1alpha1/index.ts';
import { FINALIZER } from '../src/api/v1alpha1/index.ts';
import { needsProvider, ProviderUsage } from '../src/controller/provider/usage.ts';
import { providerKeyOfRef } from '../src/controller/provider-resolver.ts';
import { keyOf } from '../src/kube/informer.ts';

function tokens(n: number, providers: number): Map<string, ServiceAccountToken> {
  const cache = new Map<string, ServiceAccountToken>();
  for (let i = 0; i < n; i++) {
    const sat = {
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: { name: `t-${i}`, namespace: 'bench', finalizers: [FINALIZER], resourceVersion: String(i) },
      spec: { providerRef: { name: `p-${i % providers}` } },
    } as unknown as ServiceAccountToken;
    cache.set(keyOf(sat), sat);
  }
  return cache;
}

/** The scan it replaces: every cached token copied into an array, then the first one needing the provider. */
function neededByScan(cache: Map<string, ServiceAccountToken>, providerKey: string): boolean {
  return [...cache.values()].some((t) => providerKeyOfRef(t) === providerKey && needsProvider(t));
}

function perCall(calls: number, fn: (i: number) => void): number {
  fn(0); // warm up
  const start = performance.now();
  for (let i = 0; i < calls; i++) fn(i);
  return (performance.now() - start) / calls;
}

const us = (ms: number) => `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} µs`;

for (const n of [10_000, 100_000]) {
  for (const providers of [1, 100]) {
    const cache = tokens(n, providers);
    const usage = ProviderUsage.of(cache.values());
    const keys = Array.from({ length: providers }, (_, i) => `bench/p-${i}`);
    const calls = Math.max(20, Math.round(2_000_000 / n));
    const scan = perCall(calls, (i) => {
      if (!neededByScan(cache, keys[i % providers]!)) throw new Error('scan: provider not needed');
    });
    const index = perCall(calls * 100, (i) => {
      if (!usage.isNeeded(keys[i % providers]!)) throw new Error('index: provider not needed');
    });
    console.log(
      `${n.toLocaleString('en')} tokens, ${providers} provider(s): scan ${us(scan)} per question, index ${us(index)} ` +
        `(${(scan / index).toFixed(0)}x); a burst asking once per token spends ${((scan * n) / 1000).toFixed(1)} s ` +
        `scanning against ${((index * n) / 1000).toFixed(3)} s`,
    );
  }
}

// What the index costs to keep: one observe per cache event (an update that moves nothing, then a delete and an add).
{
  const cache = tokens(100_000, 100);
  const usage = ProviderUsage.of(cache.values());
  const all = [...cache.values()];
  const update = perCall(all.length, (i) => {
    const t = all[i]!;
    usage.observe({ type: 'update', object: t, old: t });
  });
  const churn = perCall(all.length, (i) => {
    const t = all[i]!;
    usage.observe({ type: 'delete', object: t });
    usage.observe({ type: 'add', object: t });
  });
  console.log(`keeping the index at 100,000 tokens: ${us(update)} per update, ${us(churn)} per delete + add`);
}
