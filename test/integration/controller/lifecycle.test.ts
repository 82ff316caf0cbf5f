import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, isReady, waitFor } from './harness.ts';

const h = new Harness();
/** Reconciles counted before the restart test, so it can tell when the restarted controller went through all. */
let restartBaseline = 0;
/** Every token value seen in a Secret during the run: the log scan at the end looks for each. */
const seenTokens: string[] = [];

async function readyToken(ns: string, name: string) {
  const sat = await waitFor(`${ns}/${name} Ready`, async () => {
    const s = await h.getToken(ns, name);
    return isReady(s) && s?.status?.tokenId ? s : undefined;
  });
  const data = await h.getSecretData(ns, sat.status!.secretName!);
  if (data?.['token']) seenTokens.push(data['token']);
  return { sat, data: data! };
}

beforeAll(async () => {
  await h.start({ auditWrites: true });
  await h.startController();
}, 120_000);

afterAll(async () => {
  await h.stop();
});

describe('ServiceAccountToken lifecycle against the real API server and the reference credentials API', () => {
  it('issues a token into a Secret that the credentials API accepts, with finalizer, owner and status', async () => {
    await h.setupNamespace('issue');
    await h.createToken('issue', 'reporting', { readOnly: true });
    const { sat, data } = await readyToken('issue', 'reporting');
    expect(sat.metadata.finalizers).toContain('tokensync.io/revoke');
    expect(sat.status?.revision).toBe(1);
    expect(sat.status?.observedGeneration).toBe(sat.metadata.generation);
    expect(sat.status?.expiresAt).toBeDefined();
    expect(sat.status?.renewalTime).toBeDefined();
    const info = await h.introspect(data['token']!);
    expect(info).toMatchObject({ active: true, readOnly: true, name: sat.status?.tokenName });
    expect(JSON.stringify(sat.status)).not.toContain(data['token']!);
    expect(h.events.some((e) => e.name === 'reporting' && e.reason === 'Issued')).toBe(true);
  });

  it('renders the Secret from its template (Augment-style session.json)', async () => {
    await h.setupNamespace('template');
    await h.createToken('template', 'session', {
      scopes: ['read', 'write'],
      secret: { template: { 'session.json': '{"accessToken": {{ .token | json }}, "scopes": {{ .scopes }}}' } },
    });
    const sat = await waitFor('template Ready', async () => {
      const s = await h.getToken('template', 'session');
      return isReady(s) ? s : undefined;
    });
    const data = await h.getSecretData('template', sat.status!.secretName!);
    const session = JSON.parse(data!['session.json']!) as { accessToken: string; scopes: string[] };
    seenTokens.push(session.accessToken);
    expect(session.scopes).toEqual(['read', 'write']);
    expect((await h.introspect(session.accessToken)).active).toBe(true);
  });

  it('rotates before expiry: the Secret holds the new token before the old one is revoked, one mint and one revoke per rotation', async () => {
    await h.setupNamespace('rotate');
    await h.createToken('rotate', 'short', {
      lifetime: '1m',
      renewBeforePercentage: 95,
      rotation: { gracePeriod: '1s' },
    });
    const first = await readyToken('rotate', 'short');
    const before = await h.stats();
    const second = await waitFor(
      'rotation',
      async () => {
        const s = await h.getToken('rotate', 'short');
        // revision is bumped when the mint is journaled; a finished rotation has no pending and no retiring token.
        return (s?.status?.revision ?? 0) >= 2 && !s?.status?.pending && !s?.status?.retiring?.length && isReady(s)
          ? s
          : undefined;
      },
      30_000,
    );
    const data = await h.getSecretData('rotate', second.status!.secretName!);
    seenTokens.push(data!['token']!);
    expect(data!['token']).not.toBe(first.data['token']);
    expect((await h.introspect(data!['token']!)).active).toBe(true);
    expect((await h.introspect(first.data['token']!)).active).toBe(false);
    const after = await h.stats();
    const rotations = second.status!.revision! - first.sat.status!.revision!;
    // A later rotation may have started minting; revocations trail by the grace period.
    expect(after.mints - before.mints).toBeGreaterThanOrEqual(rotations);
    expect(after.mints - before.mints).toBeLessThanOrEqual(rotations + 1);
    expect(after.revokes - before.revokes).toBe(rotations);
    expect(h.events.some((e) => e.name === 'short' && e.reason === 'Renewed')).toBe(true);
    await h.deleteToken('rotate', 'short');
  });

  it('repairs a deleted Secret with a new token and revokes the old one', async () => {
    await h.setupNamespace('repair');
    await h.createToken('repair', 'fragile', { rotation: { gracePeriod: '1s' } });
    const first = await readyToken('repair', 'fragile');
    const { kubeRequest } = await import('../../../src/kube/client.ts');
    await kubeRequest(h.kc, {
      method: 'DELETE',
      path: `/api/v1/namespaces/repair/secrets/${first.sat.status!.secretName}`,
    });
    const repaired = await waitFor('repair', async () => {
      const s = await h.getToken('repair', 'fragile');
      return s?.status?.revision === 2 && !s.status.pending && !s.status.retiring?.length ? s : undefined;
    });
    const data = await h.getSecretData('repair', repaired.status!.secretName!);
    seenTokens.push(data!['token']!);
    expect((await h.introspect(data!['token']!)).active).toBe(true);
    expect((await h.introspect(first.data['token']!)).active).toBe(false);
    expect(h.events.some((e) => e.name === 'fragile' && e.reason === 'SecretRepaired')).toBe(true);
  });

  it('repairs a Secret edited out of band', async () => {
    await h.setupNamespace('edited');
    await h.createToken('edited', 'tampered', { rotation: { gracePeriod: '1s' } });
    const first = await readyToken('edited', 'tampered');
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: first.sat.status!.secretName!, namespace: 'edited' },
      stringData: { token: 'not-a-real-token' },
    });
    const repaired = await waitFor('repair after edit', async () => {
      const s = await h.getToken('edited', 'tampered');
      return (s?.status?.revision ?? 0) >= 2 && !s?.status?.pending && isReady(s) ? s : undefined;
    });
    const data = await h.getSecretData('edited', repaired.status!.secretName!);
    seenTokens.push(data!['token']!);
    expect(data!['token']).not.toBe('not-a-real-token');
    expect((await h.introspect(data!['token']!)).active).toBe(true);
  });

  it('never overwrites a Secret it does not own, and says so in status', async () => {
    await h.setupNamespace('foreign');
    await h.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'taken', namespace: 'foreign' },
      stringData: { token: 'hand-made' },
    });
    const before = await h.stats();
    await h.createToken('foreign', 'intruder', { secret: { name: 'taken' } });
    const sat = await waitFor('SecretConflict', async () => {
      const s = await h.getToken('foreign', 'intruder');
      return s?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'SecretConflict') ? s : undefined;
    });
    expect(sat.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('not managed by this');
    expect((await h.getSecretData('foreign', 'taken'))?.['token']).toBe('hand-made');
    expect((await h.stats()).mints).toBe(before.mints);
  });

  it('rewrites Secret labels without minting, and rotates when readOnly changes', async () => {
    await h.setupNamespace('edits');
    await h.createToken('edits', 'evolving', { rotation: { gracePeriod: '1s' } });
    const first = await readyToken('edits', 'evolving');
    const before = await h.stats();
    await h.createToken('edits', 'evolving', { rotation: { gracePeriod: '1s' }, secret: { labels: { team: 'data' } } });
    await waitFor('label on Secret', async () => {
      const { kubeRequest } = await import('../../../src/kube/client.ts');
      const s = await kubeRequest<{ metadata: { labels?: Record<string, string> } }>(h.kc, {
        method: 'GET',
        path: `/api/v1/namespaces/edits/secrets/${first.sat.status!.secretName}`,
      });
      return s.metadata.labels?.['team'] === 'data';
    });
    expect((await h.stats()).mints).toBe(before.mints);
    expect((await h.getSecretData('edits', first.sat.status!.secretName!))?.['token']).toBe(first.data['token']);

    await h.createToken('edits', 'evolving', {
      rotation: { gracePeriod: '1s' },
      secret: { labels: { team: 'data' } },
      readOnly: true,
    });
    const rotated = await waitFor('rotation on readOnly change', async () => {
      const s = await h.getToken('edits', 'evolving');
      return s?.status?.revision === 2 && !s.status.pending && isReady(s) ? s : undefined;
    });
    const data = await h.getSecretData('edits', rotated.status!.secretName!);
    seenTokens.push(data!['token']!);
    expect((await h.introspect(data!['token']!)).readOnly).toBe(true);
  });

  it('rotates once per new value of the renew-requested-at annotation', async () => {
    await h.setupNamespace('manual');
    await h.createToken('manual', 'ondemand', { rotation: { gracePeriod: '1s' } });
    await readyToken('manual', 'ondemand');
    await h.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: {
        name: 'ondemand',
        namespace: 'manual',
        annotations: { 'tokensync.io/renew-requested-at': '2026-11-26T08:00:00Z' },
      },
      spec: h.tokenSpec({ rotation: { gracePeriod: '1s' } }),
    });
    const rotated = await waitFor('manual rotation', async () => {
      const s = await h.getToken('manual', 'ondemand');
      return s?.status?.revision === 2 && s.status.lastRenewRequest === '2026-11-26T08:00:00Z' ? s : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await h.getToken('manual', 'ondemand'))?.status?.revision).toBe(rotated.status?.revision);
  });

  it('revokes every live token on deletion, and keeps them with deletionPolicy Retain', async () => {
    await h.setupNamespace('delete');
    await h.createToken('delete', 'gone');
    await h.createToken('delete', 'kept', { deletionPolicy: 'Retain' });
    const gone = await readyToken('delete', 'gone');
    const kept = await readyToken('delete', 'kept');
    await h.deleteToken('delete', 'gone');
    await h.deleteToken('delete', 'kept');
    await waitFor(
      'both deleted',
      async () => !(await h.getToken('delete', 'gone')) && !(await h.getToken('delete', 'kept')),
    );
    expect((await h.introspect(gone.data['token']!)).active).toBe(false);
    expect((await h.introspect(kept.data['token']!)).active).toBe(true);
    expect(await h.getSecretData('delete', 'gone')).toBeUndefined();
    expect((await h.getSecretData('delete', 'kept'))?.['token']).toBe(kept.data['token']);
  });

  it('keeps the finalizer while upstream fails during deletion, then completes', async () => {
    await h.setupNamespace('outage');
    await h.createToken('outage', 'stubborn');
    const { data } = await readyToken('outage', 'stubborn');
    await h.admin('PUT', '/_faults', { errorRate: 1 });
    try {
      await h.deleteToken('outage', 'stubborn');
      await waitFor('RevokeFailed event', async () =>
        h.events.some((e) => e.name === 'stubborn' && e.reason === 'RevokeFailed'),
      );
      expect(await h.getToken('outage', 'stubborn')).toBeDefined();
      expect((await h.introspect(data['token']!)).active).toBe(true);
    } finally {
      await h.admin('DELETE', '/_faults');
    }
    await waitFor('deleted after recovery', async () => !(await h.getToken('outage', 'stubborn')), 60_000);
    expect((await h.introspect(data['token']!)).active).toBe(false);
  });

  it('restarting the controller with 100 Ready resources calls no upstream API and writes nothing', async () => {
    await h.setupNamespace('restart');
    const names = Array.from({ length: 100 }, (_, i) => `steady-${i}`);
    await Promise.all(names.map((name) => h.createToken('restart', name)));
    for (const name of names) await readyToken('restart', name);
    // Let the reconciles triggered by the controller's own writes settle before taking the baseline.
    await new Promise((r) => setTimeout(r, 2000));
    await h.stopController();
    restartBaseline = (await h.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
    const stats = await h.stats();
    const writes = h.cp.auditEvents().length;
    const manager = await h.startController();
    await waitFor('every resource reconciled after the restart', async () => {
      const done = await h.metrics.reconciles.get();
      const total = done.values.reduce((sum, v) => sum + v.value, 0);
      return manager.tokenQueue.len() === 0 && total >= names.length + restartBaseline;
    });
    await new Promise((r) => setTimeout(r, 2000));
    const after = await h.stats();
    expect(after.mints).toBe(stats.mints);
    expect(after.requests).toBe(stats.requests);
    const newWrites = h.cp.auditEvents().slice(writes);
    expect(newWrites.map((e) => `${e.verb} ${e.requestURI}`)).toEqual([]);
  });

  it('never logs a token value', () => {
    expect(seenTokens.length).toBeGreaterThan(5);
    expect(h.logs.lines.length).toBeGreaterThan(10);
    expect(h.logs.leaks(seenTokens)).toEqual([]);
  });
});
