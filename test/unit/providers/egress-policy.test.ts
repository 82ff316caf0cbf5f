// The egress decision as a pure function: no test here resolves a name or opens a socket. Every denied range is
// probed at its first and last address and just outside it, in IPv4, IPv6 and the IPv6 forms that carry IPv4.
import { describe, expect, it } from 'vitest';
import {
  buildEgressPolicy,
  DEFAULT_DENY_RULES,
  DEFAULT_EGRESS_POLICY,
  decideEgress,
  describeDenial,
  EgressConfigError,
  type EgressPolicy,
  embeddedIPv4,
  formatAddress,
  parseAddress,
  parseAllowEntry,
  parseCidr,
  withProviderAllow,
} from '../../../src/providers/transport/egress-policy.ts';

const decide = (address: string, policy: EgressPolicy = DEFAULT_EGRESS_POLICY, host?: string) =>
  decideEgress(host === undefined ? { address } : { address, host }, policy);
const denyingRule = (address: string, policy?: EgressPolicy) => {
  const decision = decide(address, policy);
  return decision.allowed ? undefined : decision.rule?.cidr.text;
};

describe('address parsing', () => {
  it.each([
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['169.254.169.254', 4, 0xa9fea9fen],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['fe80::1%eth0', 6, (0xfe80n << 112n) | 1n],
    ['[2001:db8::1]', 6, (0x20010db8n << 96n) | 1n],
    ['::ffff:127.0.0.1', 6, 0xffff7f000001n],
    ['::ffff:7f00:1', 6, 0xffff7f000001n],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n],
    ['64:ff9b::10.0.0.1', 6, (0x64ff9bn << 96n) | 0x0a000001n],
  ])('%s', (text, family, value) => {
    expect(parseAddress(text)).toEqual({ family, value });
  });

  it('refuses what is not an address (names, IPv4 shorthands URL parsing would have normalised)', () => {
    for (const text of ['localhost', '127.1', '0x7f.0.0.1', '2130706433', '1.2.3.4.5', '::g', '']) {
      expect(parseAddress(text), text).toBeUndefined();
    }
  });

  it('formats addresses canonically (RFC 5952 for IPv6)', () => {
    expect(formatAddress(4, 0x7f000001n)).toBe('127.0.0.1');
    expect(formatAddress(6, 0n)).toBe('::');
    expect(formatAddress(6, 1n)).toBe('::1');
    expect(formatAddress(6, parseAddress('2001:db8:0:0:1:0:0:1')!.value)).toBe('2001:db8::1:0:0:1');
    expect(formatAddress(6, parseAddress('fe80:0:0:0:0:0:0:0')!.value)).toBe('fe80::');
    expect(formatAddress(6, parseAddress('1:0:2:3:4:5:6:7')!.value)).toBe('1:0:2:3:4:5:6:7');
  });

  it('parses CIDRs, clears host bits, reads a bare address as one host, stores mapped IPv6 CIDRs as IPv4', () => {
    expect(parseCidr('10.1.2.3/8').text).toBe('10.0.0.0/8');
    expect(parseCidr('127.0.0.1').text).toBe('127.0.0.1/32');
    expect(parseCidr('::1').text).toBe('::1/128');
    expect(parseCidr('fd00::1/8').text).toBe('fd00::/8');
    expect(parseCidr('::ffff:10.0.0.0/104')).toMatchObject({ family: 4, text: '10.0.0.0/8' });
    expect(parseCidr('0.0.0.0/0').text).toBe('0.0.0.0/0');
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/', 'example.com/8', 'fe80::1%eth0/64']) {
      expect(() => parseCidr(bad), bad).toThrow();
    }
  });
});

describe('IPv6 forms that carry an IPv4 address', () => {
  it.each([
    ['::ffff:169.254.169.254', 'IPv4-mapped', '169.254.169.254'],
    ['::ffff:0:7f00:1', 'IPv4-translated', '127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'NAT64', '169.254.169.254'],
    ['2002:a00:1::1', '6to4', '10.0.0.1'],
    ['::127.0.0.1', 'IPv4-compatible', '127.0.0.1'],
  ])('%s is the %s form of %s', (text, form, v4) => {
    const embedded = embeddedIPv4(parseAddress(text)!);
    expect(embedded?.form).toBe(form);
    expect(formatAddress(4, embedded!.value)).toBe(v4);
  });

  it(':: and ::1 are themselves, and ordinary IPv6 addresses carry nothing', () => {
    expect(embeddedIPv4(parseAddress('::')!)).toBeUndefined();
    expect(embeddedIPv4(parseAddress('::1')!)).toBeUndefined();
    expect(embeddedIPv4(parseAddress('2606:4700::1111')!)).toBeUndefined();
    expect(embeddedIPv4(parseAddress('127.0.0.1')!)).toBeUndefined();
  });
});

// [first, last, just outside] of every default range, with the rule expected to deny the first two.
const IPV4_RANGES: Array<[string, string, string, string]> = [
  ['0.0.0.0/8', '0.0.0.0', '0.255.255.255', '1.0.0.0'],
  ['127.0.0.0/8', '127.0.0.0', '127.255.255.255', '128.0.0.0'],
  ['169.254.0.0/16', '169.254.0.0', '169.254.255.255', '169.255.0.0'],
  ['192.0.0.0/24', '192.0.0.0', '192.0.0.255', '192.0.1.0'],
  ['192.0.2.0/24', '192.0.2.0', '192.0.2.255', '192.0.3.0'],
  ['198.51.100.0/24', '198.51.100.0', '198.51.100.255', '198.51.101.0'],
  ['203.0.113.0/24', '203.0.113.0', '203.0.113.255', '203.0.114.0'],
  ['198.18.0.0/15', '198.18.0.0', '198.19.255.255', '198.20.0.0'],
  ['224.0.0.0/4', '224.0.0.0', '239.255.255.255', '223.255.255.255'],
  ['240.0.0.0/4', '240.0.0.0', '255.255.255.255', '223.255.255.255'],
  ['10.0.0.0/8', '10.0.0.0', '10.255.255.255', '11.0.0.0'],
  ['172.16.0.0/12', '172.16.0.0', '172.31.255.255', '172.32.0.0'],
  ['192.168.0.0/16', '192.168.0.0', '192.168.255.255', '192.169.0.0'],
  ['100.64.0.0/10', '100.64.0.0', '100.127.255.255', '100.128.0.0'],
];
const IPV6_RANGES: Array<[string, string, string, string]> = [
  ['::/128', '::', '::', '::2:0:0'],
  ['::1/128', '::1', '::1', '::2:0:0'],
  ['100::/64', '100::', '100::ffff:ffff:ffff:ffff', '100:0:0:1::'],
  ['2001::/32', '2001::', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff', '2001:1::'],
  ['2001:db8::/32', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::'],
  ['fe80::/10', 'fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['ff00::/8', 'ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['fc00::/7', 'fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['fec0::/10', 'fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe7f::'],
  ['64:ff9b:1::/48', '64:ff9b:1::', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff', '64:ff9b:2::'],
];

describe('the default policy', () => {
  describe.each(IPV4_RANGES)('IPv4 %s', (cidr, first, last, outside) => {
    it('denies its first and last address', () => {
      expect(denyingRule(first)).toBe(cidr);
      expect(denyingRule(last)).toBe(cidr);
    });
    it('denies the IPv4-mapped, IPv4-translated, NAT64, 6to4 and IPv4-compatible forms too', () => {
      const v4 = parseAddress(first)!.value;
      const hex = `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
      for (const form of [
        `::ffff:${first}`,
        `::ffff:${hex}`,
        `::ffff:0:${first}`,
        `64:ff9b::${first}`,
        `2002:${hex}::1`,
      ]) {
        expect(denyingRule(form), form).toBe(cidr);
      }
      if (v4 > 1n) expect(denyingRule(`::${first}`)).toBe(cidr);
    });
    it('does not deny the address just outside because of this range', () => {
      expect(denyingRule(outside)).not.toBe(cidr);
    });
  });

  describe.each(IPV6_RANGES)('IPv6 %s', (cidr, first, last, outside) => {
    it('denies its first and last address', () => {
      expect(denyingRule(first)).toBe(cidr);
      expect(denyingRule(last)).toBe(cidr);
    });
    it('does not deny the address just outside because of this range', () => {
      expect(denyingRule(outside)).not.toBe(cidr);
    });
  });

  it('denies the cloud metadata endpoints by their own, more specific rules where they sit in private space', () => {
    expect(denyingRule('169.254.169.254')).toBe('169.254.0.0/16');
    expect(denyingRule('fd00:ec2::254')).toBe('fd00:ec2::254/128');
    expect(denyingRule('100.100.100.200')).toBe('100.100.100.200/32');
  });

  it('allows public addresses, in every form', () => {
    for (const address of [
      '1.1.1.1',
      '8.8.8.8',
      '93.184.215.14',
      '223.255.255.255',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2606:4700:4700::1111',
      '2a00:1450:4001::200e',
    ]) {
      expect(decide(address), address).toEqual({ allowed: true, reason: 'not in a denied range' });
    }
  });

  it('denies what is not an address', () => {
    expect(decide('localhost')).toMatchObject({ allowed: false, reason: '"localhost" is not an IP address' });
  });

  it('has a rule for every range this test covers, and no rule this test does not cover', () => {
    const covered = new Set([
      ...IPV4_RANGES.map((r) => r[0]),
      ...IPV6_RANGES.map((r) => r[0]),
      'fd00:ec2::254/128',
      '100.100.100.200/32',
    ]);
    expect(new Set(DEFAULT_DENY_RULES.map((r) => r.cidr.text))).toEqual(covered);
  });
});

describe('allow entries', () => {
  it('parses addresses, CIDRs, host names and *.domain; refuses URLs, ports and junk', () => {
    expect(parseAllowEntry('127.0.0.1')).toEqual({ kind: 'cidr', cidr: parseCidr('127.0.0.1/32') });
    expect(parseAllowEntry('10.0.0.0/8')).toMatchObject({ kind: 'cidr' });
    expect(parseAllowEntry('fd00::/8')).toMatchObject({ kind: 'cidr' });
    expect(parseAllowEntry('Vault.Corp.')).toEqual({ kind: 'host', pattern: 'vault.corp' });
    expect(parseAllowEntry('*.svc.cluster.local')).toEqual({ kind: 'host', pattern: '*.svc.cluster.local' });
    expect(parseAllowEntry('cafe.de')).toEqual({ kind: 'host', pattern: 'cafe.de' });
    expect(() => parseAllowEntry('vault.corp:8200')).toThrow('no scheme, no port');
    expect(() => parseAllowEntry('https://vault.corp')).toThrow('no scheme, no port');
    for (const bad of ['https://vault.corp', 'vault.corp:8200', '*', 'a.*.corp', '10.0.0', '', ' ', 'a b']) {
      expect(() => parseAllowEntry(bad), bad).toThrow();
    }
  });

  it('an address entry opens exactly that address, in every IPv6 form', () => {
    const policy = buildEgressPolicy({ allow: ['127.0.0.1'] });
    expect(decide('127.0.0.1', policy)).toEqual({
      allowed: true,
      reason: 'allowed by --egress-allow entry 127.0.0.1/32',
    });
    expect(decide('::ffff:127.0.0.1', policy).allowed).toBe(true);
    expect(decide('127.0.0.2', policy).allowed).toBe(false);
    expect(decide('::1', policy).allowed).toBe(false);
  });

  it('an IPv6 entry opens IPv6 addresses', () => {
    const policy = buildEgressPolicy({ allow: ['::1', 'fd12::/16'] });
    expect(decide('::1', policy).allowed).toBe(true);
    expect(decide('fd12:3::4', policy).allowed).toBe(true);
    expect(decide('fd13::1', policy).allowed).toBe(false);
  });

  it('the most specific rule wins: a broad allow does not open a narrower denied range inside it', () => {
    const policy = buildEgressPolicy({ allow: ['10.0.0.0/8'], serviceCidrs: ['10.96.0.0/12'] });
    expect(decide('10.1.2.3', policy).allowed).toBe(true);
    expect(decide('10.96.0.1', policy)).toMatchObject({ allowed: false, rule: { source: '--cluster-service-cidrs' } });
    expect(
      decide('10.96.0.1', buildEgressPolicy({ allow: ['10.96.0.0/12'], serviceCidrs: ['10.96.0.0/12'] })),
    ).toMatchObject({ allowed: true });
  });

  it('0.0.0.0/0 does not open loopback or link-local: opening a special range takes an entry as specific as it', () => {
    const policy = buildEgressPolicy({ allow: ['0.0.0.0/0', '::/0'] });
    expect(denyingRule('127.0.0.1', policy)).toBe('127.0.0.0/8');
    expect(denyingRule('169.254.169.254', policy)).toBe('169.254.0.0/16');
    expect(denyingRule('::1', policy)).toBe('::1/128');
  });

  it('a host name entry opens internal ranges for that name only, never loopback, link-local or metadata', () => {
    const policy = buildEgressPolicy({ allow: ['vault.corp', '*.svc.cluster.local'] });
    expect(decide('10.0.0.5', policy, 'vault.corp')).toEqual({
      allowed: true,
      reason: 'allowed by --egress-allow entry vault.corp',
    });
    expect(decide('10.0.0.5', policy, 'VAULT.corp.').allowed).toBe(true);
    expect(decide('fd00::5', policy, 'api.team.svc.cluster.local').allowed).toBe(true);
    expect(decide('10.0.0.5', policy, 'svc.cluster.local').allowed).toBe(false);
    expect(decide('10.0.0.5', policy, 'other.corp').allowed).toBe(false);
    expect(decide('10.0.0.5', policy).allowed).toBe(false);
    // An ExternalName Service or a hostile DNS answer pointing an allowed name at metadata or loopback:
    for (const address of ['169.254.169.254', '127.0.0.1', '::1', 'fd00:ec2::254', '::ffff:169.254.169.254']) {
      expect(decide(address, policy, 'vault.corp').allowed, address).toBe(false);
    }
  });

  it('cluster service and pod ranges outside private space are denied too, and named in the decision', () => {
    const policy = buildEgressPolicy({ serviceCidrs: ['34.118.224.0/20'], podCidrs: ['2600:1900:4000::/44'] });
    expect(decide('34.118.224.10', policy)).toMatchObject({
      allowed: false,
      rule: { label: "the cluster's service range", source: '--cluster-service-cidrs' },
    });
    expect(decide('2600:1900:4000::5', policy)).toMatchObject({
      allowed: false,
      rule: { label: "the cluster's pod range", source: '--cluster-pod-cidrs' },
    });
    expect(decide('34.118.240.1', policy).allowed).toBe(true);
  });

  it('a cluster range equal to a private range is reported as the cluster range', () => {
    const policy = buildEgressPolicy({ podCidrs: ['10.0.0.0/8'] });
    expect(decide('10.244.1.1', policy)).toMatchObject({ rule: { source: '--cluster-pod-cidrs' } });
  });

  it('--egress-deny=0.0.0.0/0,::/0 turns the policy into an allow-list', () => {
    const policy = buildEgressPolicy({ deny: ['0.0.0.0/0', '::/0'], allow: ['api.vendor.example', '203.0.113.7'] });
    expect(decide('8.8.8.8', policy).allowed).toBe(false);
    expect(decide('2606:4700::1', policy).allowed).toBe(false);
    expect(decide('8.8.8.8', policy, 'api.vendor.example').allowed).toBe(true);
    expect(decide('203.0.113.7', policy).allowed).toBe(true);
  });

  it('lists every bad setting in one error, naming the flag', () => {
    expect(() =>
      buildEgressPolicy({ allow: ['http://x'], serviceCidrs: ['10.96.0.0/99'], podCidrs: ['pods'], deny: ['x'] }),
    ).toThrow(EgressConfigError);
    try {
      buildEgressPolicy({ allow: ['http://x'], serviceCidrs: ['10.96.0.0/99'], podCidrs: ['pods'], deny: ['x'] });
    } catch (error) {
      const message = (error as Error).message;
      for (const flag of ['--egress-allow', '--cluster-service-cidrs', '--cluster-pod-cidrs', '--egress-deny']) {
        expect(message).toContain(flag);
      }
    }
  });

  it("a ClusterCredentialsProvider's own entries extend the cluster policy for it alone", () => {
    const cluster = buildEgressPolicy({ allow: ['127.0.0.1'] });
    const field = 'spec.egress.allow of ClusterCredentialsProvider shared';
    const own = withProviderAllow(cluster, ['10.20.0.0/16'], field);
    expect(decide('10.20.1.1', own)).toEqual({ allowed: true, reason: `allowed by ${field} entry 10.20.0.0/16` });
    expect(decide('127.0.0.1', own).allowed).toBe(true);
    expect(decide('10.20.1.1', cluster).allowed).toBe(false);
    expect(() => withProviderAllow(cluster, ['https://x'], field)).toThrow(field);
  });
});

describe('the refusal message', () => {
  it('names the address, the rule and the setting that allows just that address', () => {
    const target = { address: '169.254.169.254' };
    const message = describeDenial(target, decideEgress(target, DEFAULT_EGRESS_POLICY), DEFAULT_EGRESS_POLICY);
    expect(message).toBe(
      'egress denied: 169.254.169.254 (the address in spec.url) is in 169.254.0.0/16, link-local, where cloud ' +
        'metadata endpoints such as 169.254.169.254 live, denied by default. To allow it, a platform administrator ' +
        'adds "169.254.169.254/32" to the controller flag --egress-allow (Helm value egress.allow)',
    );
  });

  it('for a resolved name in an internal range, offers the name or the address', () => {
    const policy = buildEgressPolicy({ serviceCidrs: ['10.96.0.0/12'] });
    const target = { address: '10.96.0.10', host: 'vault.corp' };
    const message = describeDenial(target, decideEgress(target, policy), policy);
    expect(message).toContain('vault.corp resolved to 10.96.0.10 is in 10.96.0.0/12');
    expect(message).toContain("the cluster's service range, denied by --cluster-service-cidrs");
    expect(message).toContain('adds "vault.corp" or "10.96.0.10/32"');
  });

  it('for a resolved name in a special range, says a name entry cannot open it', () => {
    const policy = buildEgressPolicy({ allow: ['evil.example'] });
    const target = { address: '::ffff:127.0.0.1', host: 'evil.example' };
    const message = describeDenial(target, decideEgress(target, policy), policy);
    expect(message).toContain('evil.example resolved to ::ffff:127.0.0.1, the IPv4-mapped form of 127.0.0.1,');
    expect(message).toContain('adds "127.0.0.1/32"');
    expect(message).toContain('a host name entry never opens this range');
  });

  it('IPv6 suggestions are one /128; a ClusterCredentialsProvider is told about its own field', () => {
    const policy = withProviderAllow(DEFAULT_EGRESS_POLICY, [], 'spec.egress.allow of ClusterCredentialsProvider x');
    const target = { address: 'fd00::5' };
    const message = describeDenial(target, decideEgress(target, policy), policy);
    expect(message).toContain('adds "fd00::5/128"');
    expect(message).toContain('or spec.egress.allow of ClusterCredentialsProvider x');
  });
});
