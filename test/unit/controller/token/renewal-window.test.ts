// spec.renewal.windows through the token reconciler: the renewal time moves into a window, the RenewalWindow
// condition says where it is, and a token that would expire first is renewed outside the windows, with a Warning.
import { describe, expect, it } from 'vitest';
import { TokenReconciler } from '../../../../src/controller/token/reconciler.ts';
import { FakeProvider, MemoryKube, newToken } from '../../../support/token-deps.ts';

const T0 = new Date('2026-11-26T12:00:00Z'); // a Thursday
const saturdayNights = { windows: [{ days: ['Sat'], start: '02:00', end: '04:00', timeZone: 'UTC' }] };

function setup(spec: Record<string, unknown>) {
  const kube = new MemoryKube(newToken(spec));
  const provider = new FakeProvider({ now: () => env.clock.now() });
  const env = kube.deps(provider, { now: T0 });
  const reconciler = new TokenReconciler(env.deps);
  const run = () => reconciler.reconcile(kube.token);
  const condition = (type: string) => kube.token.status?.conditions?.find((c) => c.type === type);
  return { kube, provider, ...env, run, condition };
}

describe('renewal windows', () => {
  it('moves the renewal into the next window and renews there', async () => {
    // Due 20 days after issue: Wednesday 2026-12-16 12:00 UTC; the next window is Saturday 02:00.
    const t = setup({ lifetime: '720h', renewBefore: '240h', renewal: saturdayNights });
    await t.run();
    expect(t.kube.token.status?.renewalTime).toBe('2026-12-19T02:00:00Z');
    expect(t.condition('RenewalWindow')).toMatchObject({
      status: 'True',
      reason: 'InsideWindow',
      message: 'Renews at 2026-12-19T02:00:00Z, inside the renewal windows',
    });
    t.clock.set(Date.parse('2026-12-16T12:00:01Z')); // the due time without windows: nothing happens
    await t.run();
    expect(t.provider.mints).toBe(1);
    t.clock.set(Date.parse('2026-12-19T02:00:01Z'));
    await t.run();
    expect(t.provider.mints).toBe(2);
  });

  it('renews outside the windows rather than let the token expire, and warns once', async () => {
    // A 24h token issued Thursday noon: due Friday 04:00; no window before Friday 08:00 (1/6 of the lifetime left).
    const t = setup({ lifetime: '24h', renewal: saturdayNights });
    await t.run();
    expect(t.kube.token.status?.renewalTime).toBe('2026-11-27T08:00:00Z');
    expect(t.condition('RenewalWindow')).toMatchObject({ status: 'False', reason: 'OutsideWindow' });
    expect(t.condition('RenewalWindow')!.message).toBe(
      'No renewal window (Sat 02:00-04:00 UTC) opens early enough before the token expires at 2026-11-27T12:00:00Z: it is renewed at 2026-11-27T08:00:00Z, outside the windows, rather than left to expire; the next window opens at 2026-11-28T02:00:00Z. Widen the windows or renew earlier (renewBefore) so a window fits',
    );
    expect(t.events.filter((e) => e.reason === 'RenewalOutsideWindow')).toHaveLength(1);
    expect(t.condition('Ready')).toMatchObject({ status: 'True' });
    const writes = t.kube.writes.length;
    await t.run();
    expect(t.kube.writes.length).toBe(writes);
    expect(t.events.filter((e) => e.reason === 'RenewalOutsideWindow')).toHaveLength(1);
  });

  it('windows added to a live token move its renewal once, without minting', async () => {
    const t = setup({ lifetime: '720h', renewBefore: '240h' });
    await t.run();
    expect(t.kube.token.status?.renewalTime).toBe('2026-12-16T12:00:00Z');
    expect(t.condition('RenewalWindow')).toBeUndefined();
    t.kube.token = {
      ...t.kube.token,
      metadata: { ...t.kube.token.metadata, generation: 2 },
      spec: { ...t.kube.token.spec, renewal: saturdayNights } as never,
    };
    t.clock.advance(60_000);
    await t.run();
    expect(t.kube.token.status?.renewalTime).toBe('2026-12-19T02:00:00Z');
    expect(t.condition('RenewalWindow')).toMatchObject({ status: 'True' });
    expect(t.provider.mints).toBe(1);
    const writes = t.kube.writes.length;
    await t.run();
    expect(t.kube.writes.length).toBe(writes);
  });

  it('a renew request is acted on at once, whatever the windows', async () => {
    const t = setup({ lifetime: '720h', renewal: saturdayNights });
    await t.run();
    t.kube.token = {
      ...t.kube.token,
      metadata: { ...t.kube.token.metadata, annotations: { 'tokensync.io/renew-requested-at': 'now' } },
    };
    await t.run();
    expect(t.provider.mints).toBe(2);
  });

  it('refuses a time zone the runtime does not know, naming the field', async () => {
    const t = setup({ renewal: { windows: [{ start: '09:00', end: '17:00', timeZone: 'Mars/Olympus_Mons' }] } });
    await t.run();
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(t.condition('Ready')!.message).toBe(
      'spec.renewal.windows.0.timeZone: not a time zone this controller knows: use an IANA name such as Europe/Berlin or UTC',
    );
    expect(t.provider.mints).toBe(0);
  });
});
