// Failure injection for every write the token controller makes (journal+finalizer, Secret, status, Event) and
// every upstream call (mint, revoke, lookup): first each one fails, with a real mechanism where one exists
// (ValidatingAdmissionPolicies deny the writes, the reference API's aimed faults fail the calls); then the process
// is SIGKILLed right after each one (failpoints, src/failpoints.ts). After each, R1–R4 are checked against the
// credentials API's own list of live tokens: nothing live that no resource references, no mint loop, every
// resource Ready (or gone) with a Secret holding a live token, the controller alive.
// (The controller never lists upstream tokens; list is used only by kubectl tokensync revoke-orphans.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { describe as describeError } from '../../../src/controller/token/failure.ts';
import { openJournal } from '../../../src/controller/token/journal.ts';
import type { FailpointName } from '../../../src/failpoints.ts';
import { isNotFound, kubeRequest } from '../../../src/kube/client.ts';
import { RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import { Harness, isReady, waitFor } from './harness.ts';
import { ControllerProcess } from './process.ts';
import { leaks, readyOf, unsettled } from './rules.ts';

const h = new Harness();
let controller: ControllerProcess | undefined;
/** Every line every controller process printed, for the log scan at the end. */
const output: string[] = [];
/** What each scenario cost upstream, printed at the end. */
const figures: string[] = [];

const CONTROLLER = `system:serviceaccount:${RELEASE_NAMESPACE}:`;

beforeAll(async () => {
  await h.start();
}, 120_000);

afterAll(async () => {
  await stopController();
  if (process.env['INJECTION_LOG'])
    (await import('node:fs')).writeFileSync(process.env['INJECTION_LOG'], output.join('\n'));
  await h.stop();
  if (figures.length) console.log(`failure injection:\n  ${figures.join('\n  ')}`);
});

async function startController(failpoints?: string): Promise<ControllerProcess> {
  // Never two at once: there is no leader election here, and two controllers would race each other.
  await stopController();
  controller = new ControllerProcess(
    h.controllerKubeconfigPath,
    [],
    failpoints ? { TOKENSYNC_FAILPOINTS: failpoints } : {},
  );
  await controller.synced();
  return controller;
}

async function stopController(): Promise<void> {
  if (!controller) return;
  await controller.kill();
  output.push(...controller.output);
  controller = undefined;
}

async function token(ns: string, name = 't'): Promise<ServiceAccountToken | undefined> {
  return h.getToken(ns, name);
}

async function readyToken(ns: string, name = 't', timeoutMs = 60_000): Promise<ServiceAccountToken> {
  return waitFor(
    `${ns}/${name} Ready`,
    async () => {
      const s = await token(ns, name);
      return isReady(s) && !openJournal(s!) && !s?.status?.retiring?.length ? s : undefined;
    },
    timeoutMs,
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify((await token(ns, name))?.status)}`);
  });
}

/** Live upstream tokens of one service account. */
async function live(sa: string): Promise<string[]> {
  return (await h.liveTokens()).filter((t) => t.serviceAccountId === sa).map((t) => t.name);
}

/** A policy that refuses the controller's writes of one kind in one namespace (the test's admin is not refused). */
async function refuse(
  name: string,
  namespace: string,
  rule: { apiGroups: string[]; resources: string[]; operations: string[] },
): Promise<void> {
  const applied = await h.cp.kubectl(['apply', '-f', '-'], {
    input: [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ ...rule, apiVersions: ['*'] }] },
          validations: [
            {
              expression: `!request.userInfo.username.startsWith('${CONTROLLER}')`,
              message: `failure injection: ${name} refuses tokensync's write`,
            },
          ],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name },
        spec: {
          policyName: name,
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
        },
      },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  });
  if (applied.code !== 0) throw new Error(applied.stderr);
}

async function allow(name: string): Promise<void> {
  try {
    await kubeRequest(h.kc, {
      method: 'DELETE',
      path: `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${name}`,
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Waits until the policy is enforced: the API server picks up new policies within a second or so. */
async function enforced(namespace: string, probe: () => Promise<unknown>): Promise<void> {
  await waitFor(`policies in force in ${namespace}`, async () => {
    try {
      await probe();
      return false;
    } catch (error) {
      if (describeError(error).includes('failure injection')) return true;
      throw new Error(describeError(error));
    }
  });
}

/** Whether the controller logged a failed reconcile of this key since `from` (an index into its output). */
function failedSince(key: string, from: number): boolean {
  return controller!.output.slice(from).some((l) => l.includes('reconcile failed') && l.includes(`"key":"${key}"`));
}

async function renew(ns: string, name: string, value: string, spec: Record<string, unknown>): Promise<void> {
  await h.apply({
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { name, namespace: ns, annotations: { 'tokensync.io/renew-requested-at': value } },
    spec: h.tokenSpec(spec),
  });
}

/** R1 now, with the controller stopped or dead: every live token is referenced by its resource. */
async function expectNoLeak(what: string): Promise<void> {
  expect(await leaks(h), `${what}: live upstream tokens no resource references (R1)`).toEqual([]);
}

describe('each write the controller makes fails (real mechanisms)', () => {
  it('refused journal, Secret, status and Event writes mint at most once, leak nothing, and recover when allowed', async () => {
    for (const ns of ['inject-journal', 'inject-secret', 'inject-status', 'inject-event']) await h.setupNamespace(ns);
    await refuse('deny-journal', 'inject-journal', {
      apiGroups: ['tokensync.io'],
      resources: ['serviceaccounttokens'],
      operations: ['UPDATE'],
    });
    await refuse('deny-secret', 'inject-secret', { apiGroups: [''], resources: ['secrets'], operations: ['CREATE'] });
    await refuse('deny-status', 'inject-status', {
      apiGroups: ['tokensync.io'],
      resources: ['serviceaccounttokens/status'],
      operations: ['UPDATE'],
    });
    await refuse('deny-event', 'inject-event', {
      apiGroups: ['events.k8s.io', ''],
      resources: ['events'],
      operations: ['CREATE', 'UPDATE'],
    });
    // The admin is not refused; a dry-run as the controller shows the policies are loaded.
    const asController = (await import('../../../src/kube/kubeconfig.ts')).loadKubeConfig({
      kubeconfig: h.controllerKubeconfigPath,
    });
    await enforced('inject-secret', () =>
      kubeRequest(asController, {
        method: 'POST',
        path: '/api/v1/namespaces/inject-secret/secrets',
        query: { dryRun: 'All' },
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'probe' } },
      }),
    );
    await enforced('inject-event', () =>
      kubeRequest(asController, {
        method: 'POST',
        path: '/apis/events.k8s.io/v1/namespaces/inject-event/events',
        query: { dryRun: 'All' },
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: 'probe' },
          eventTime: new Date().toISOString().replace('Z', '000Z'),
          reportingController: 'probe',
          reportingInstance: 'probe',
          action: 'Probe',
          reason: 'Probe',
          type: 'Normal',
          regarding: { apiVersion: 'v1', kind: 'Pod', name: 'probe', namespace: 'inject-event' },
        },
      }),
    );

    await startController();
    const from = controller!.output.length;
    const before = await h.stats();
    for (const ns of ['inject-journal', 'inject-secret', 'inject-status', 'inject-event']) {
      await h.createToken(ns, 't', { serviceAccount: `sa-${ns}` });
    }

    // Journal refused: nothing minted, the resource carries no journal and no finalizer, and says so (WriteRejected).
    await waitFor('WriteRejected', async () => readyOf(await token('inject-journal'))?.reason === 'WriteRejected');
    // Secret refused: one token minted, revoked, SecretRejected.
    await waitFor('SecretRejected', async () => readyOf(await token('inject-secret'))?.reason === 'SecretRejected');
    // Status refused: one token minted and in the Secret, referenced by the open journal.
    await waitFor('the status write refused', async () => failedSince('inject-status/t', from));
    // Events refused: Ready all the same (Events are never a reason to fail).
    await readyToken('inject-event');
    // A few more seconds of refusals must cost no more mints.
    await new Promise((r) => setTimeout(r, 5000));

    expect(await live('sa-inject-journal')).toEqual([]);
    const journalSat = await token('inject-journal');
    expect(journalSat?.metadata.finalizers ?? []).not.toContain('tokensync.io/revoke');
    expect(await live('sa-inject-secret')).toEqual([]);
    const statusSat = await token('inject-status');
    expect(await live('sa-inject-status')).toEqual([openJournal(statusSat!)?.name]);
    expect(statusSat?.status?.tokenId).toBeUndefined();
    expect(await h.getSecretData('inject-status', 't')).toBeDefined();
    const events = await kubeRequest<{ items: unknown[] }>(h.kc, {
      method: 'GET',
      path: '/apis/events.k8s.io/v1/namespaces/inject-event/events',
    });
    expect(events.items).toEqual([]);
    expect(
      (await h.stats()).mints - before.mints,
      'one mint for the Secret, one for the status, one for the Event',
    ).toBe(3);
    await expectNoLeak('writes refused');

    for (const name of ['deny-journal', 'deny-secret', 'deny-status', 'deny-event']) await allow(name);
    // The API server drops a policy a moment after its binding goes: wait until the controller may write again.
    await waitFor('the Secret and journal policies lifted', async () => {
      await kubeRequest(asController, {
        method: 'POST',
        path: '/api/v1/namespaces/inject-secret/secrets',
        query: { dryRun: 'All' },
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'probe' } },
      });
      await kubeRequest(asController, {
        method: 'PATCH',
        path: '/apis/tokensync.io/v1alpha1/namespaces/inject-journal/serviceaccounttokens/t',
        query: { dryRun: 'All' },
        body: { metadata: { annotations: { probe: 'x' } } },
        contentType: 'application/merge-patch+json',
      });
      return true;
    });
    // The journal's and the Secret's next attempts wait out a permanent backoff; a renew request (the runbook's
    // advice) tries now.
    await renew('inject-journal', 't', 'allowed', { serviceAccount: 'sa-inject-journal' });
    await renew('inject-secret', 't', 'allowed', { serviceAccount: 'sa-inject-secret' });
    for (const ns of ['inject-journal', 'inject-secret', 'inject-status']) await readyToken(ns);
    const after = await h.stats();
    // Journal 1 (first time allowed), Secret 1 more, status 0 more (finished from the Secret), Event 0.
    expect(after.mints - before.mints).toBe(5);
    expect(await live('sa-inject-status')).toEqual([(await token('inject-status'))?.status?.tokenName]);
    figures.push(
      `writes refused (journal, Secret, status, Event): ${after.mints - before.mints} mints for 4 tokens, ${after.revokes - before.revokes} revoke`,
    );
    expect(await unsettled(h, { include: (t) => t.serviceAccountId.startsWith('sa-inject-') })).toEqual([]);
    await stopController();
  }, 180_000);
});

describe('each upstream call fails (the reference API aims its faults)', () => {
  beforeAll(async () => {
    for (const ns of ['inject-mint', 'inject-lost', 'inject-revoke']) await h.setupNamespace(ns);
    await startController();
  }, 60_000);

  afterAll(async () => {
    await h.admin('DELETE', '/_faults');
    await stopController();
  });

  it('a failing mint backs off and mints once it answers', async () => {
    await h.admin('PUT', '/_faults', { errorRate: 1, operations: ['mint'] });
    await h.createToken('inject-mint', 't', { serviceAccount: 'sa-inject-mint' });
    const failing = await waitFor('UpstreamError', async () => {
      const s = await token('inject-mint');
      return (s?.status?.failureCount ?? 0) >= 2 ? s : undefined;
    });
    expect(readyOf(failing)).toMatchObject({ status: 'False', reason: 'UpstreamError' });
    expect(failing.status?.lastFailure).toContain('503');
    await new Promise((r) => setTimeout(r, 3000));
    // 1 s doubling: a handful of attempts in a few seconds, not hundreds.
    expect((await token('inject-mint'))?.status?.failureCount).toBeLessThanOrEqual(5);
    expect(await live('sa-inject-mint')).toEqual([]);
    await expectNoLeak('mint failing');
    await h.admin('DELETE', '/_faults');
    await readyToken('inject-mint');
    expect(await live('sa-inject-mint')).toHaveLength(1);
  });

  it('a mint whose answer is lost, then a failing lookup: nothing more is minted until the leftover is found and revoked', async () => {
    // The mint runs upstream but its answer is garbled (the client cannot tell it succeeded); lookups are garbled
    // too, so recovery cannot find the token yet.
    await h.admin('PUT', '/_faults', { malformedRate: 1, operations: ['mint', 'lookup'] });
    const before = await h.stats();
    await h.createToken('inject-lost', 't', { serviceAccount: 'sa-inject-lost' });
    const lost = await waitFor('the lost mint journaled', async () => {
      const s = await token('inject-lost');
      const names = await live('sa-inject-lost');
      return s && openJournal(s) && names.length === 1 ? names[0] : undefined;
    });
    // The failed lookup is recorded in status like any upstream failure (and backed off there).
    await waitFor('a lookup failing', async () =>
      (await token('inject-lost'))?.status?.lastFailure?.includes('Could not settle the interrupted issue'),
    );
    // Then lookups fail outright (503) for a while.
    await h.admin('PUT', '/_faults', { errorRate: 1, operations: ['lookup'] });
    await new Promise((r) => setTimeout(r, 4000));
    expect((await h.stats()).mints - before.mints, 'no mint while the leftover is unknown').toBe(1);
    expect(await live('sa-inject-lost')).toEqual([lost]);
    await expectNoLeak('lost mint, lookup failing');
    await h.admin('DELETE', '/_faults');
    const ready = await readyToken('inject-lost');
    expect(await live('sa-inject-lost')).toEqual([ready.status?.tokenName]);
    expect(ready.status?.tokenName).not.toBe(lost);
    expect((await h.stats()).mints - before.mints).toBe(2);
  });

  it('a failing revoke keeps the retired token on the retiring list until it answers', async () => {
    const spec = { serviceAccount: 'sa-inject-revoke', rotation: { gracePeriod: '1s' } };
    await h.createToken('inject-revoke', 't', spec);
    const first = await readyToken('inject-revoke');
    await h.admin('PUT', '/_faults', { errorRate: 1, operations: ['revoke'] });
    await renew('inject-revoke', 't', 'rotate-1', spec);
    const rotating = await waitFor('a revoke failing', async () => {
      const s = await token('inject-revoke');
      return (s?.status?.revision ?? 0) >= 2 && s?.status?.retiring?.length && s.status.lastFailureReason
        ? s
        : undefined;
    });
    // Make before break: the new token is in the Secret and Ready; the old one is live and referenced.
    expect(isReady(rotating)).toBe(true);
    expect(rotating.status?.retiring?.[0]?.tokenId).toBe(first.status?.tokenName);
    expect((await live('sa-inject-revoke')).sort()).toEqual(
      [first.status!.tokenName!, rotating.status!.tokenName!].sort(),
    );
    await expectNoLeak('revoke failing');
    await h.admin('DELETE', '/_faults');
    const settled = await readyToken('inject-revoke');
    expect(await live('sa-inject-revoke')).toEqual([settled.status?.tokenName]);
  });
});

describe('the process dies right after each write and each upstream call (failpoints)', () => {
  /**
   * Runs a controller armed with `failpoint`, does `act`, waits for the process to kill itself there, checks R1
   * with nothing running, then restarts a clean controller and waits for `settled`. Returns the mints it cost.
   */
  async function crashAt(
    failpoint: FailpointName,
    act: () => Promise<void>,
    settled: () => Promise<void>,
  ): Promise<{ mints: number; revokes: number }> {
    const before = await h.stats();
    const dying = await startController(`${failpoint}=crash`);
    await act();
    const code = await Promise.race([dying.exited, new Promise<'alive'>((r) => setTimeout(() => r('alive'), 60_000))]);
    expect(code, `the controller died at ${failpoint}:\n${dying.output.slice(-5).join('\n')}`).not.toBe('alive');
    expect(dying.output.some((l) => l.includes('"failpoint"') && l.includes(failpoint))).toBe(true);
    await stopController();
    await expectNoLeak(`killed at ${failpoint}`);
    await startController();
    await settled();
    await stopController();
    const after = await h.stats();
    return { mints: after.mints - before.mints, revokes: after.revokes - before.revokes };
  }

  const create = (ns: string) => () => h.createToken(ns, 't', { serviceAccount: `sa-${ns}` });
  const ready = (ns: string) => async () => {
    await readyToken(ns, 't', 60_000);
  };

  it('after the in-use finalizers, the journal, the Secret, the status and the Event of a first issue', async () => {
    const cases: Array<[FailpointName, string, number]> = [
      // [failpoint, namespace, mints expected in all]
      ['after-protect', 'crash-protect', 1],
      // The journal names a token that was never minted: recovery finds nothing, mints once.
      ['after-journal', 'crash-journal', 1],
      // Minted, in no Secret: recovery finds it by name and revokes it, then mints again.
      ['after-mint', 'crash-mint', 2],
      // In the Secret, not in status: finished from the Secret's annotations, no second mint.
      ['after-secret', 'crash-secret', 1],
      ['after-status', 'crash-status', 1],
      ['after-event', 'crash-event', 1],
    ];
    for (const [failpoint, ns, mints] of cases) {
      await h.setupNamespace(ns);
      const cost = await crashAt(failpoint, create(ns), ready(ns));
      figures.push(`killed ${failpoint}: ${cost.mints} mint(s), ${cost.revokes} revoke(s) to settle`);
      expect(cost.mints, `${failpoint}: mints`).toBe(mints);
      expect(await live(`sa-${ns}`), `${failpoint}: one live token, the current one`).toEqual([
        (await token(ns))?.status?.tokenName,
      ]);
    }
  }, 300_000);

  it('after a lookup by name during recovery, and after a revocation of a retired and of a deleted token', async () => {
    // An interrupted mint (killed after it), then killed again right after recovery's lookup.
    await h.setupNamespace('crash-lookup');
    const dying = await startController('after-mint=crash');
    await h.createToken('crash-lookup', 't', { serviceAccount: 'sa-crash-lookup' });
    await dying.exited;
    await stopController();
    const lookup = await crashAt('after-lookup', async () => {}, ready('crash-lookup'));
    figures.push(
      `killed after-mint, then after-lookup: ${lookup.mints} mint(s), ${lookup.revokes} revoke(s) to settle`,
    );
    expect(lookup.mints).toBe(1);
    expect(lookup.revokes).toBe(1);

    // A rotation: killed right after the retired token's revocation answered, before status dropped it.
    await h.setupNamespace('crash-revoke');
    const spec = { serviceAccount: 'sa-crash-revoke', rotation: { gracePeriod: '1s' } };
    await startController();
    await h.createToken('crash-revoke', 't', spec);
    await readyToken('crash-revoke');
    await stopController();
    const rotation = await crashAt(
      'after-revoke',
      () => renew('crash-revoke', 't', 'rotate-1', spec),
      ready('crash-revoke'),
    );
    figures.push(`killed after-revoke (rotation): ${rotation.mints} mint(s), ${rotation.revokes} revoke(s)`);
    expect(rotation.mints).toBe(1);
    expect(await live('sa-crash-revoke')).toEqual([(await token('crash-revoke'))?.status?.tokenName]);

    // A deletion: killed right after the revocation, before the finalizer is released.
    const deletion = await crashAt(
      'after-revoke',
      () => h.deleteToken('crash-revoke', 't'),
      async () => {
        await waitFor('deleted', async () => !(await token('crash-revoke')));
      },
    );
    figures.push(`killed after-revoke (deletion): ${deletion.mints} mint(s), ${deletion.revokes} revoke(s)`);
    expect(deletion.mints).toBe(0);
    expect(await live('sa-crash-revoke')).toEqual([]);
    expect(await h.getSecretData('crash-revoke', 't')).toBeUndefined();
  }, 240_000);
});

describe('after all of it', () => {
  it('R1–R4 hold against the credentials API: nothing leaked, every resource settled, values clean, no value logged', async () => {
    await startController();
    await waitFor('everything settled', async () => (await unsettled(h)).length === 0, 60_000).catch(
      async (error: Error) => {
        throw new Error(`${error.message}: ${(await unsettled(h)).join('; ')}`);
      },
    );
    await stopController();
    expect(await leaks(h)).toEqual([]);
    const values: string[] = [];
    const tokens = await kubeRequest<{ items: ServiceAccountToken[] }>(h.kc, {
      method: 'GET',
      path: '/apis/tokensync.io/v1alpha1/serviceaccounttokens',
    });
    for (const sat of tokens.items) {
      const value = (await h.getSecretData(sat.metadata.namespace!, sat.status!.secretName!))!['token']!;
      // biome-ignore lint/suspicious/noControlCharactersInRegex: R4, the stored value has none
      expect(value, 'R4').toMatch(/^[^\u0000-\u001f\u007f]+$/);
      values.push(value);
    }
    expect(values.length).toBeGreaterThanOrEqual(10);
    expect(output.filter((line) => values.some((v) => line.includes(v)))).toEqual([]);
  }, 120_000);
});
