// The chaos soak in CI: 60 s of random creates, deletes, spec edits, renewals, Secret deletions and namespace
// deletions, with the controller SIGKILLed every few seconds and the credentials API failing 10% of calls, timing
// out 2% and answering 50 ms late. R1 is checked at every kill; at the end every rule holds (soak.ts).
// SOAK_SEED replays a run; bench/soak.bench.ts runs the same for 10 minutes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './harness.ts';
import { describeSoak, soak } from './soak.ts';

const h = new Harness();
const DURATION_MS = Number(process.env['SOAK_SECONDS'] ?? 60) * 1000;

beforeAll(async () => {
  // The namespace controller and the garbage collector: namespaces are deleted for real.
  await h.start({ controllerManager: true });
}, 120_000);

afterAll(async () => {
  await h.stop();
});

describe('chaos soak', () => {
  it(
    `${DURATION_MS / 1000} s of chaos and SIGKILLs: every resource Ready or gone, no leak, no Secret missing, no namespace stuck`,
    async () => {
      const seed = Number(process.env['SOAK_SEED'] ?? Date.now() % 100_000);
      const result = await soak(h, {
        durationMs: DURATION_MS,
        resources: 30,
        namespaces: 3,
        killEveryMs: [2000, 5000],
        actionEveryMs: [100, 300],
        faults: { errorRate: 0.1, timeoutRate: 0.02, latencyMs: 50 },
        convergeTimeoutMs: 150_000,
        seed,
        log: (line) => console.log(line),
      });
      console.log(describeSoak(result, DURATION_MS));
      if (process.env['SOAK_LOG'])
        (await import('node:fs')).writeFileSync(process.env['SOAK_LOG'], result.output.join('\n'));
      expect(result.leaksAtKills, `R1 at every kill (rerun with SOAK_SEED=${seed})`).toEqual([]);
      expect(result.problems, `converged (rerun with SOAK_SEED=${seed})`).toEqual([]);
      // The ledger: every token minted was revoked exactly once, or is the current token of a Ready resource.
      expect(result.mints - result.revokes).toBe(result.liveTokensAtEnd);
      expect(result.liveTokensAtEnd).toBe(result.resourcesAtEnd);
      // The chaos did happen: kills landed and every kind of action ran.
      expect(result.kills).toBeGreaterThanOrEqual(DURATION_MS / 6000);
      for (const action of ['create', 'delete', 'edit', 'renew', 'delete-secret']) {
        expect(result.actions[action] ?? 0, action).toBeGreaterThan(0);
      }
    },
    DURATION_MS + 300_000,
  );
});
