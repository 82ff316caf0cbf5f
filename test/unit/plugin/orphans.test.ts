import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import {
  classifyTokens,
  parseTokenName,
  serviceAccountsOf,
  type UpstreamToken,
} from '../../../src/cli/plugin/orphans.ts';
import { providerTargets } from '../../../src/cli/plugin/revoke-orphans.ts';
import { upstreamTokenName } from '../../../src/controller/naming.ts';

function sat(
  name: string,
  uid: string,
  status: ServiceAccountToken['status'] = {},
  extra: {
    tokenName?: string;
    namespace?: string;
    deleting?: boolean;
    serviceAccount?: string;
    provider?: string;
  } = {},
): ServiceAccountToken {
  return {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: {
      name,
      namespace: extra.namespace ?? 'team-a',
      uid,
      ...(extra.deleting ? { deletionTimestamp: '2025-06-01T00:00:00Z' } : {}),
    },
    spec: {
      providerRef: { kind: 'CredentialsProvider', name: extra.provider ?? 'ref' },
      serviceAccount: extra.serviceAccount ?? 'ci-bot',
      readOnly: false,
      deletionPolicy: 'Revoke',
      ...(extra.tokenName ? { tokenName: extra.tokenName } : {}),
    },
    status,
  } as ServiceAccountToken;
}

const UID = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const OTHER_UID = 'ffffeeee-0000-0000-0000-000000000000';
const token = (name: string, active = true): UpstreamToken => ({ id: name, name, active });

describe('parseTokenName', () => {
  it('reads the controller naming convention, and round-trips with it', () => {
    const s = sat('reporting', UID);
    const name = upstreamTokenName(s, 7);
    expect(name).toBe('reporting-0a1b2c3d-r7');
    expect(parseTokenName(name)).toEqual({ prefix: 'reporting', uid8: '0a1b2c3d', revision: 7 });
  });

  it('accepts prefixes with dashes, rejects foreign names', () => {
    expect(parseTokenName('my-app-token-0a1b2c3d-r12')).toEqual({
      prefix: 'my-app-token',
      uid8: '0a1b2c3d',
      revision: 12,
    });
    for (const name of [
      'reporting',
      'reporting-0a1b2c3d',
      'reporting-0A1B2C3D-r1',
      'x-0a1b2c3-r1',
      'tok-0a1b2c3d-rx',
      '',
    ]) {
      expect(parseTokenName(name), name).toBeUndefined();
    }
  });
});

describe('classifyTokens', () => {
  const owner = sat('reporting', UID, {
    revision: 5,
    tokenId: 'reporting-0a1b2c3d-r5',
    tokenName: 'reporting-0a1b2c3d-r5',
    retiring: [{ tokenId: 'reporting-0a1b2c3d-r4', revokeAt: '2025-06-01T00:05:00Z' }],
  });

  const decide = (tokens: UpstreamToken[], resources = [owner], options = {}) =>
    Object.fromEntries(classifyTokens(tokens, resources, options).map((v) => [v.token.name, [v.decision, v.revoke]]));

  it('keeps the current and the retiring tokens, revokes older leftovers', () => {
    expect(
      decide([
        token('reporting-0a1b2c3d-r5'),
        token('reporting-0a1b2c3d-r4'),
        token('reporting-0a1b2c3d-r3'),
        token('reporting-0a1b2c3d-r1'),
      ]),
    ).toEqual({
      'reporting-0a1b2c3d-r5': ['current', false],
      'reporting-0a1b2c3d-r4': ['retiring', false],
      'reporting-0a1b2c3d-r3': ['superseded', true],
      'reporting-0a1b2c3d-r1': ['superseded', true],
    });
  });

  it('matches status by upstream id as well as by name', () => {
    const byId = sat('reporting', UID, { revision: 2, tokenId: 'id-42' });
    const verdicts = classifyTokens([{ id: 'id-42', name: 'reporting-0a1b2c3d-r2', active: true }], [byId]);
    expect(verdicts[0]!.decision).toBe('current');
  });

  it('never touches a pending mint or a revision newer than the status (a mint racing the audit)', () => {
    const pending = sat('reporting', UID, {
      revision: 5,
      tokenId: 'reporting-0a1b2c3d-r5',
      pending: { tokenId: 'reporting-0a1b2c3d-r6', name: 'reporting-0a1b2c3d-r6', startedAt: '2025-06-01T00:00:00Z' },
    });
    expect(decide([token('reporting-0a1b2c3d-r6'), token('reporting-0a1b2c3d-r9')], [pending])).toEqual({
      'reporting-0a1b2c3d-r6': ['pending', false],
      'reporting-0a1b2c3d-r9': ['in-flight', false],
    });
  });

  it('leaves tokens of a resource being deleted to its finalizer', () => {
    const deleting = sat('reporting', UID, { revision: 5, tokenId: 'reporting-0a1b2c3d-r5' }, { deleting: true });
    expect(decide([token('reporting-0a1b2c3d-r2')], [deleting])).toEqual({
      'reporting-0a1b2c3d-r2': ['owner-deleting', false],
    });
  });

  it('ignores foreign and inactive tokens', () => {
    expect(decide([token('hand-made-token'), token('reporting-0a1b2c3d-r1', false)])).toEqual({
      'hand-made-token': ['not-ours', false],
      'reporting-0a1b2c3d-r1': ['inactive', false],
    });
  });

  it('ownerless tokens are reported, and revoked only when asked (deletionPolicy Retain leaves them on purpose)', () => {
    const tokens = [token('gone-ffffeeee-r1')];
    expect(decide(tokens)).toEqual({ 'gone-ffffeeee-r1': ['ownerless', false] });
    expect(decide(tokens, [owner], { includeOwnerless: true })).toEqual({ 'gone-ffffeeee-r1': ['ownerless', true] });
  });

  it('needs both prefix and uid to match an owner', () => {
    const other = sat('other', OTHER_UID, { revision: 1, tokenId: 'other-ffffeeee-r1' });
    // Same uid prefix as `owner` but another prefix: not owned by it.
    expect(decide([token('other-0a1b2c3d-r1')], [owner, other])).toEqual({ 'other-0a1b2c3d-r1': ['ownerless', false] });
  });

  it('uses spec.tokenName as the prefix when set', () => {
    const named = sat('reporting', UID, { revision: 2, tokenId: 'nightly-0a1b2c3d-r2' }, { tokenName: 'nightly' });
    expect(decide([token('nightly-0a1b2c3d-r2'), token('nightly-0a1b2c3d-r1')], [named])).toEqual({
      'nightly-0a1b2c3d-r2': ['current', false],
      'nightly-0a1b2c3d-r1': ['superseded', true],
    });
  });

  it('finds owners among every resource, whatever provider object they use', () => {
    const elsewhere = sat('reporting', UID, { revision: 5, tokenId: 'reporting-0a1b2c3d-r5' }, { namespace: 'team-b' });
    expect(classifyTokens([token('reporting-0a1b2c3d-r5')], [elsewhere])[0]).toMatchObject({
      decision: 'current',
      owner: 'team-b/reporting',
    });
  });
});

describe('providerTargets and serviceAccountsOf', () => {
  const provider = (kind: string, name: string, type: string, namespace?: string) =>
    ({
      apiVersion: 'tokensync.io/v1alpha1',
      kind,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      spec: { type, url: 'https://x', auth: { secretRef: { name: 's', key: 'k' } } },
    }) as never;

  it('audits every provider whatever its type (the adapter says whether it can list), with its own resources', () => {
    const a = sat('a', UID, {}, { provider: 'ref', serviceAccount: 'sa-2' });
    const b = sat('b', OTHER_UID, {}, { provider: 'ref', serviceAccount: 'sa-1', namespace: 'team-b' });
    const base = sat('c', OTHER_UID, {}, { provider: 'shared', serviceAccount: 'sa-3' });
    const c = {
      ...base,
      spec: { ...base.spec, providerRef: { kind: 'ClusterCredentialsProvider', name: 'shared' } },
    } as ServiceAccountToken;
    const targets = providerTargets(
      [
        provider('CredentialsProvider', 'ref', 'reference', 'team-a'),
        provider('CredentialsProvider', 'rill', 'rill', 'team-a'),
        provider('ClusterCredentialsProvider', 'shared', 'iomete'),
      ],
      [a, b, c],
    );
    expect(targets.map((t) => [t.key, t.resources.map((r) => r.metadata.name)])).toEqual([
      ['team-a/ref', ['a']],
      ['team-a/rill', []],
      ['cluster/shared', ['c']],
    ]);
    expect(serviceAccountsOf([a, b, a, c])).toEqual(['sa-1', 'sa-2', 'sa-3']);
  });
});
