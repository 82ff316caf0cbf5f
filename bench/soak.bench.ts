// The chaos soak for 10 minutes (test/integration/controller/soak.ts; the CI test runs it for 60 s): random creates,
// deletes, spec edits, renewals, Secret and namespace deletions, the controller SIGKILLed every 2–5 s, the reference
// credentials API failing 10% of calls, timing out 2% and answering 50 ms late. Prints the figures: R1 at every
// kill, time to converge, and the ledger: mints − revokes (the credentials API's own counters) against the live
// tokens at the end, which must be equal.
//
//   npx node bench/soak.bench.ts        BENCH_SOAK_SECONDS=600, BENCH_SOAK_RESOURCES=60, BENCH_SOAK_SEED=<random>
import { Harness } from '../test/integration/controller/harness.ts';
import { describeSoak, soak } from '../test/integration/controller/soak.ts';

const seconds = Number(process.env['BENCH_SOAK_SECONDS'] ?? 600);
const resources = Number(process.env['BENCH_SOAK_RESOURCES'] ?? 60);
const seed = Number(process.env['BENCH_SOAK_SEED'] ?? Date.now() % 100_000);
const log = (line: string) => process.stdout.write(`${line}\n`);

const h = new Harness();
await h.start({ controllerManager: true });
let failed = false;
try {
  const result = await soak(h, {
    durationMs: seconds * 1000,
    resources,
    namespaces: 4,
    killEveryMs: [2000, 5000],
    actionEveryMs: [100, 300],
    faults: { errorRate: 0.1, timeoutRate: 0.02, latencyMs: 50 },
    convergeTimeoutMs: 300_000,
    seed,
    log,
  });
  log(describeSoak(result, seconds * 1000));
  // The ledger against the credentials API's own counters: every token minted is revoked exactly once or is one of
  // the live tokens at the end (the current token of a Ready resource).
  const ledger = result.mints - result.revokes === result.liveTokensAtEnd;
  const perMinute = (n: number) => (n / (seconds / 60)).toFixed(1);
  log(
    `  per minute: ${perMinute(result.kills)} SIGKILLs, ${perMinute(result.mints)} mints, ${perMinute(result.upstreamRequests)} upstream requests; ledger ${ledger ? 'balanced' : 'UNBALANCED'}`,
  );
  failed = !ledger || result.leaksAtKills.length > 0 || result.problems.length > 0;
} finally {
  await h.stop();
}
process.exit(failed ? 1 : 0);
