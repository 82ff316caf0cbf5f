// R2, bounded calls: a credentials API that grants a shorter lifetime than asked (the reference API's lifetime cap,
// as Customer.io's one-hour JWTs) gives a bounded renewal rate, never a mint loop: renewal at 2/3 of the granted
// lifetime when renewBefore does not fit in it, never sooner than 10 s after an issue, a LifetimeHonored=False
// condition and one Warning Event. The token stays Ready throughout, and the retiring list stays short.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { conditionOf, leaks, readyOf } from './rules.ts';

const h = new Harness();

beforeAll(async () => {
  // The cap at start: every token lives at most 30 s, whatever it asks.
  await h.start({ api: { maxTokenLifetimeSeconds: 30 } });
  await h.startController();
  await h.setupNamespace('short');
}, 120_000);

afterAll(async () => {
  await h.stop();
});

interface Observation {
  mints: number;
  maxRetiring: number;
  notReady: string[];
  revisions: number;
}

/**
 * Watches resources for `ms`: upstream mints per service account (the credentials API's own count, from its live
 * and revoked tokens is not kept, so from the revision), the longest retiring list, and any moment not Ready.
 */
async function observe(names: string[], ms: number): Promise<Map<string, Observation>> {
  const first = new Map<string, number>();
  const seen = new Map<string, Observation>(
    names.map((n) => [n, { mints: 0, maxRetiring: 0, notReady: [], revisions: 0 }]),
  );
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const name of names) {
      const sat = (await h.getToken('short', name)) as ServiceAccountToken;
      const o = seen.get(name)!;
      const revision = sat.status?.revision ?? 0;
      if (!first.has(name)) first.set(name, revision);
      o.revisions = revision - first.get(name)!;
      o.maxRetiring = Math.max(o.maxRetiring, sat.status?.retiring?.length ?? 0);
      if (!isReady(sat)) o.notReady.push(`${readyOf(sat)?.reason}: ${readyOf(sat)?.message}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return seen;
}

async function readyWithToken(name: string): Promise<ServiceAccountToken> {
  return waitFor(`${name} Ready`, async () => {
    const s = await h.getToken('short', name);
    return isReady(s) && s?.status?.tokenId ? s : undefined;
  });
}

describe('an upstream lifetime shorter than the renewal window (R2)', () => {
  it('renews at 2/3 of the granted lifetime, at a bounded rate, with LifetimeHonored=False and one Warning Event', async () => {
    // renewBefore 12h does not fit in the 30 s granted: cert-manager's fallback renews at 2/3 of it (20 s).
    await h.createToken('short', 'window', { serviceAccount: 'sa-window', lifetime: '24h', renewBefore: '12h' });
    // No renewBefore: the default percentage applies to the granted 30 s, and the condition says less was granted.
    await h.createToken('short', 'percent', { serviceAccount: 'sa-percent', lifetime: '1h' });
    const window = await readyWithToken('window');
    const percent = await readyWithToken('percent');

    const issued = Date.parse(window.status!.issuedAt!);
    expect(Date.parse(window.status!.expiresAt!) - issued).toBeLessThanOrEqual(31_000);
    expect(Date.parse(window.status!.renewalTime!) - issued).toBeGreaterThanOrEqual(19_000);
    expect(Date.parse(window.status!.renewalTime!) - issued).toBeLessThanOrEqual(21_000);
    expect(conditionOf(window, 'LifetimeHonored')).toMatchObject({
      status: 'False',
      reason: 'UpstreamLifetimeShorter',
    });
    expect(conditionOf(window, 'LifetimeHonored')?.message).toContain('not longer than renewBefore 12h');
    expect(conditionOf(percent, 'LifetimeHonored')).toMatchObject({
      status: 'False',
      reason: 'UpstreamLifetimeShorter',
    });
    expect(conditionOf(percent, 'LifetimeHonored')?.message).toContain('of the 1h asked');

    const before = await h.stats();
    const windowMs = 60_000;
    const seen = await observe(['window', 'percent'], windowMs).finally(async () => {
      await h.deleteToken('short', 'window');
      await h.deleteToken('short', 'percent');
    });
    const mints = (await h.stats()).mints - before.mints;
    for (const [name, o] of seen) {
      console.log(
        `short lifetime (30 s granted): ${name} renewed ${o.revisions} times in ${windowMs / 1000} s, retiring at most ${o.maxRetiring}`,
      );
    }
    // One renewal per 20 s each: 3 in a minute, 4 if a boundary falls just right. A loop would be hundreds.
    for (const [name, o] of seen) {
      expect(o.revisions, `${name} renewed`).toBeGreaterThanOrEqual(2);
      expect(o.revisions, `${name} renewals in ${windowMs / 1000} s`).toBeLessThanOrEqual(4);
      expect(o.notReady, `${name} stayed Ready`).toEqual([]);
      // The default grace period (5m) outlives the 30 s token: an expired token needs no grace, so retiring stays short.
      expect(o.maxRetiring, `${name} retiring list`).toBeLessThanOrEqual(2);
    }
    expect(mints).toBeLessThanOrEqual(8);
    const warnings = h.events.filter((e) => e.name === 'window' && e.reason === 'LifetimeShortened');
    expect(warnings, 'one Warning Event, not one per renewal').toHaveLength(1);
    expect(warnings[0]?.type).toBe('Warning');
  }, 180_000);

  it('never renews sooner than 10 s after an issue, however short the granted lifetime', async () => {
    // 12 s granted: 2/3 would be 8 s, the floor makes it 10 s. Switched at run time through the fault endpoint.
    await h.admin('PUT', '/_faults', { maxTokenLifetimeSeconds: 12 });
    try {
      await h.createToken('short', 'tiny', {
        serviceAccount: 'sa-tiny',
        lifetime: '1m',
        rotation: { gracePeriod: '1s' },
      });
      const tiny = await readyWithToken('tiny');
      const issued = Date.parse(tiny.status!.issuedAt!);
      expect(Date.parse(tiny.status!.renewalTime!) - issued).toBeGreaterThanOrEqual(10_000);
      const seen = await observe(['tiny'], 40_000);
      console.log(`short lifetime (12 s granted): tiny renewed ${seen.get('tiny')!.revisions} times in 40 s`);
      // At most one renewal per 10 s: 4 in 40 s, 5 at a boundary.
      expect(seen.get('tiny')!.revisions).toBeGreaterThanOrEqual(3);
      expect(seen.get('tiny')!.revisions).toBeLessThanOrEqual(5);
      expect(seen.get('tiny')!.notReady).toEqual([]);
    } finally {
      await h.admin('DELETE', '/_faults');
    }
    await h.deleteToken('short', 'tiny');
    await waitFor('tiny deleted', async () => !(await h.getToken('short', 'tiny')));
  }, 120_000);

  it('leaves no live token unreferenced', async () => {
    await waitFor('deletions finished', async () => !(await h.getToken('short', 'window')));
    expect(await leaks(h)).toEqual([]);
  });
});
