import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { egressPolicyOf, parseControllerFlags } from '../../../src/cli/controller-flags.ts';
import { sameConditions, setCondition } from '../../../src/controller/conditions.ts';
import { FreshnessTracker } from '../../../src/controller/freshness.ts';
import { matchesSelector, selectorQuery } from '../../../src/controller/label-selector.ts';
import { tokenNamePrefixOf, upstreamAccountOf, upstreamTokenName } from '../../../src/controller/naming.ts';
import { tokenSpecHash } from '../../../src/controller/spec-hash.ts';
import { observeSecret, SecretHasher } from '../../../src/kube/secrets.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import { decideEgress } from '../../../src/providers/transport/egress-policy.ts';

describe('conditions', () => {
  it('keeps lastTransitionTime while the status stays, and compares regardless of key order', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-02T00:00:00Z');
    const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Issued', message: 'm' }, t1);
    const again = setCondition(first, { type: 'Ready', status: 'True', reason: 'Issued', message: 'm' }, t2);
    expect(again[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    const sorted = again.map((c) => Object.fromEntries(Object.entries(c).sort())) as typeof again;
    expect(sameConditions(again, sorted)).toBe(true);
    const flipped = setCondition(first, { type: 'Ready', status: 'False', reason: 'X', message: 'm' }, t2);
    expect(flipped[0]!.lastTransitionTime).toBe('2026-01-02T00:00:00Z');
    expect(sameConditions(first, flipped)).toBe(false);
  });
});

describe('freshness tracker', () => {
  it('treats versions we wrote over as stale until the cache moves past them', () => {
    const f = new FreshnessTracker();
    f.wrote('ns/a', '1', '2');
    f.wrote('ns/a', '2', '3');
    expect(f.isStale('ns/a', '1')).toBe(true);
    expect(f.isStale('ns/a', '2')).toBe(true);
    expect(f.isStale('ns/a', '3')).toBe(false);
    expect(f.size).toBe(0);
    expect(f.isStale('ns/b', '1')).toBe(false);
  });
});

describe('label selectors', () => {
  it('implements matchLabels and the four operators', () => {
    const labels = { env: 'prod', team: 'data' };
    expect(matchesSelector({}, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { env: 'prod' } }, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { env: 'dev' } }, labels)).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: 'team', operator: 'In', values: ['data'] }] }, labels)).toBe(
      true,
    );
    expect(matchesSelector({ matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['data'] }] }, labels)).toBe(
      false,
    );
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'Exists' }] }, labels)).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels)).toBe(true);
  });

  it('writes the query form the API server parses (?labelSelector=)', () => {
    expect(
      selectorQuery({
        matchLabels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'canary', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,app.kubernetes.io/part-of=shop,tier in (a,b),env notin (dev),canary,!legacy');
  });
});

describe('upstream token names', () => {
  it('are deterministic, unique per resource uid and revision', () => {
    const sat = { metadata: { name: 'reporting', uid: 'abcdef12-3456-7890' }, spec: {} } as never;
    expect(upstreamTokenName(sat, 3)).toBe('reporting-abcdef12-r3');
    expect(upstreamTokenName({ metadata: { name: 'x', uid: 'u' }, spec: { tokenName: 'ci' } } as never, 1)).toBe(
      'ci-u-r1',
    );
  });
});

describe('observed Secrets', () => {
  const raw = {
    metadata: {
      name: 's',
      managedFields: [{}],
      ownerReferences: [{ apiVersion: 'v', kind: 'k', name: 'n', uid: 'owner', controller: true }],
    },
    data: { token: Buffer.from('rsa_live_x').toString('base64') },
  };

  it('keep metadata and a hash keyed by the controller, never the data, and drop managedFields', () => {
    const hasher = new SecretHasher(Buffer.alloc(32, 1));
    const observed = observeSecret(structuredClone(raw), hasher);
    expect(JSON.stringify(observed)).not.toContain(raw.data.token);
    expect(JSON.stringify(observed)).not.toContain('rsa_live_x');
    expect(observed.metadata).not.toHaveProperty('managedFields');
    expect(observed.dataKeys).toEqual(['token']);
    expect(observeSecret(structuredClone(raw), hasher).dataHash).toBe(observed.dataHash);
    expect(observed.dataHash).toMatch(new RegExp(`^hmac-sha256:${hasher.keyId}:`));
    // Another key (another cluster's controller, or a reader who knows only the uid) gets another hash.
    const otherKey = observeSecret(structuredClone(raw), new SecretHasher(Buffer.alloc(32, 2)));
    expect(otherKey.dataHash).not.toBe(observed.dataHash);
    // 0.1 keyed the hash with the owner uid; it is still recognised so an upgrade re-mints nothing.
    expect(observed.legacyDataHash).toBe(SecretHasher.legacyHash(raw.data, 'owner'));
  });

  it('keep only metadata when no hasher is given (the informer cache)', () => {
    const observed = observeSecret(structuredClone(raw));
    expect(observed.dataHash).toBeUndefined();
    expect(observed.dataKeys).toBeUndefined();
    expect(JSON.stringify(observed)).not.toContain(raw.data.token);
  });

  it('refuse a hash key shorter than 16 bytes', () => {
    expect(() => new SecretHasher(Buffer.alloc(8))).toThrow(/16 bytes/);
  });
});

describe('SecretValue', () => {
  it('prints, serialises and inspects as [REDACTED]', async () => {
    const { inspect } = await import('node:util');
    const v = new SecretValue('rsa_live_secret');
    expect(`${v}`).toBe('[REDACTED]');
    expect(JSON.stringify({ v })).toBe('{"v":"[REDACTED]"}');
    expect(inspect({ v })).not.toContain('rsa_live_secret');
    expect(v.reveal()).toBe('rsa_live_secret');
  });
});

describe('controller flags', () => {
  it('takes flags over env over defaults and rejects bad values with the flag name', () => {
    expect(parseControllerFlags([], {})).toMatchObject({
      'max-concurrent-reconciles': 4,
      'lease-duration': 15_000,
      'leader-elect': false,
    });
    expect(parseControllerFlags([], { TOKENSYNC_LOG_LEVEL: 'debug' })['log-level']).toBe('debug');
    expect(parseControllerFlags(['--log-level', 'warn'], { TOKENSYNC_LOG_LEVEL: 'debug' })['log-level']).toBe('warn');
    expect(parseControllerFlags(['--leader-elect'], {})['leader-elect']).toBe(true);
    expect(() => parseControllerFlags(['--lease-duration', 'soon'], {})).toThrow(/--lease-duration/);
    expect(() => parseControllerFlags(['--bogus'], {})).toThrow();
  });

  it('reads the sharding flags from the command line or the environment, and refuses them with --leader-elect', () => {
    expect(parseControllerFlags([], {})).toMatchObject({
      sharding: false,
      shards: 16,
      'shard-lease-prefix': 'tokensync',
    });
    expect(parseControllerFlags(['--sharding', '--shards', '32'], {})).toMatchObject({ sharding: true, shards: 32 });
    expect(parseControllerFlags([], { TOKENSYNC_SHARDING: 'true', TOKENSYNC_SHARDS: '8' })).toMatchObject({
      sharding: true,
      shards: 8,
    });
    expect(() => parseControllerFlags(['--sharding', '--leader-elect'], {})).toThrow(
      /--sharding replaces --leader-elect/,
    );
    expect(() => parseControllerFlags(['--shards', '0'], {})).toThrow(/--shards/);
    expect(() => parseControllerFlags(['--shard-lease-prefix', 'Bad_Prefix'], {})).toThrow(/--shard-lease-prefix/);
  });

  it('reads the egress lists comma-separated, repeated or from the environment, and refuses a bad entry', () => {
    const flags = parseControllerFlags(
      [
        '--egress-allow',
        '127.0.0.1, vault.corp',
        '--egress-allow=10.20.0.0/16',
        '--cluster-service-cidrs=10.96.0.0/12',
      ],
      { TOKENSYNC_CLUSTER_POD_CIDRS: '10.244.0.0/16,fd00:10:244::/56' },
    );
    expect(flags['egress-allow']).toEqual(['127.0.0.1', 'vault.corp', '10.20.0.0/16']);
    expect(flags['cluster-service-cidrs']).toEqual(['10.96.0.0/12']);
    expect(flags['cluster-pod-cidrs']).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
    expect(flags['egress-deny']).toEqual([]);
    const policy = egressPolicyOf(flags);
    expect(decideEgress({ address: '127.0.0.1' }, policy).allowed).toBe(true);
    expect(decideEgress({ address: '10.96.0.1' }, policy)).toMatchObject({
      allowed: false,
      rule: { source: '--cluster-service-cidrs' },
    });
    expect(decideEgress({ address: '10.244.3.4' }, policy)).toMatchObject({ rule: { source: '--cluster-pod-cidrs' } });
    expect(() => parseControllerFlags(['--egress-allow', 'http://127.0.0.1:8080'], {})).toThrow(
      /--egress-allow: "http:\/\/127.0.0.1:8080" is neither/,
    );
    expect(() => parseControllerFlags(['--cluster-pod-cidrs', '10.244.0.0/33'], {})).toThrow(/--cluster-pod-cidrs/);
  });
});

describe('renamed spec fields: upstreamServiceAccount (serviceAccount) and tokenNamePrefix (tokenName)', () => {
  const base = {
    apiVersion: 'tokensync.io/v1alpha1',
    kind: 'ServiceAccountToken',
    metadata: { name: 'reporting', namespace: 'ns', uid: 'aaaaaaaa-bbbb' },
  };
  const old = { ...base, spec: { providerRef: { name: 'p' }, serviceAccount: 'etl', tokenName: 'etl' } };
  const renamed = {
    ...base,
    spec: { providerRef: { name: 'p' }, upstreamServiceAccount: 'etl', tokenNamePrefix: 'etl' },
  };

  it('read the same through one accessor each', () => {
    for (const sat of [old, renamed] as unknown as ServiceAccountToken[]) {
      expect(upstreamAccountOf(sat)).toBe('etl');
      expect(tokenNamePrefixOf(sat)).toBe('etl');
      expect(upstreamTokenName(sat, 3)).toBe('etl-aaaaaaaa-r3');
    }
  });

  it('hash the same, so moving to the new names rotates nothing', () => {
    expect(tokenSpecHash(renamed as unknown as ServiceAccountToken)).toBe(
      tokenSpecHash(old as unknown as ServiceAccountToken),
    );
  });
});
