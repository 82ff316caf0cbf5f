import {
  bitsOf,
  type Cidr,
  cidrContains,
  type EmbeddedIPv4,
  embeddedIPv4,
  formatAddress,
  type ParsedAddress,
  parseAddress,
  parseCidr,
} from './ip-address.ts';

export type { Cidr, IpFamily, ParsedAddress } from './ip-address.ts';
export { cidrContains, embeddedIPv4, formatAddress, parseAddress, parseCidr } from './ip-address.ts';

/**
 * Which addresses a provider may connect to: a pure decision, `(address, policy) -> {allowed, reason}`, that never
 * opens a connection. The connector (egress-connector.ts) asks it for every address DNS returns and for a literal
 * address in spec.url, just before connecting.
 *
 * Model: every address is allowed except the denied ranges; an allow entry re-opens part of a denied range.
 * - `special` ranges (loopback, link-local incl. cloud metadata, 0.0.0.0/8, multicast, reserved, documentation,
 *   Teredo, ...) are never a credentials API by accident: only an address or CIDR allow entry opens them.
 * - `internal` ranges (RFC 1918, CGNAT, IPv6 unique-local, the cluster's service and pod ranges, --egress-deny) are
 *   where in-cluster and corporate services live: an address/CIDR entry or a host name entry opens them.
 * The most specific matching rule wins (longest prefix, as in a routing table): `--egress-allow=10.0.0.0/8` opens the
 * private 10/8 range but not the cluster's service range 10.96.0.0/12 inside it; allow that one by name or CIDR.
 * IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64 64:ff9b::/96, 6to4)
 * are decided on the IPv4 address they carry, so ::ffff:169.254.169.254 is the metadata endpoint too.
 */

/** special: only an address/CIDR allow opens it. internal: an address/CIDR or a host name allow opens it. */
export type DenyCategory = 'special' | 'internal';

export interface DenyRule {
  cidr: Cidr;
  /** What the range is, for messages: "loopback", "the cluster's service range". */
  label: string;
  category: DenyCategory;
  /** Where the rule comes from: "default" or the flag that set it. */
  source: string;
}

export interface AllowCidr {
  cidr: Cidr;
  source: string;
}

export interface AllowHost {
  /** Lower-case host name, or "*.suffix" for any name below suffix (not suffix itself). */
  pattern: string;
  source: string;
}

export interface EgressPolicy {
  readonly deny: readonly DenyRule[];
  readonly allowCidrs: readonly AllowCidr[];
  readonly allowHosts: readonly AllowHost[];
  /** Where else than the controller flag an allow entry may go for this provider (ClusterCredentialsProvider). */
  readonly providerAllowField?: string | undefined;
}

/** The platform team's settings: the controller flags and chart values of the same names. */
export interface EgressSettings {
  /** --egress-allow: CIDRs, addresses, host names and *.domain patterns providers may call. */
  allow?: readonly string[];
  /** --cluster-service-cidrs: the cluster's Service ranges (not discoverable portably). */
  serviceCidrs?: readonly string[];
  /** --cluster-pod-cidrs: the cluster's Pod ranges. */
  podCidrs?: readonly string[];
  /** --egress-deny: further ranges to deny (node or VPC networks; 0.0.0.0/0 and ::/0 for allow-list-only). */
  deny?: readonly string[];
}

export const EGRESS_FLAGS = {
  allow: '--egress-allow',
  serviceCidrs: '--cluster-service-cidrs',
  podCidrs: '--cluster-pod-cidrs',
  deny: '--egress-deny',
} as const;

/** Chart values matching the flags, quoted in messages so the reader knows what to change in either install. */
export const EGRESS_VALUES = {
  allow: 'egress.allow',
  serviceCidrs: 'egress.clusterServiceCIDRs',
  podCidrs: 'egress.clusterPodCIDRs',
  deny: 'egress.deny',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Rules

const rule = (cidr: string, label: string, category: DenyCategory): DenyRule => ({
  cidr: parseCidr(cidr),
  label,
  category,
  source: 'default',
});

/** Denied unless allowed. IPv4-embedding IPv6 forms are decided on their IPv4 address, so they need no rule here. */
export const DEFAULT_DENY_RULES: readonly DenyRule[] = [
  rule('0.0.0.0/8', '"this network" (0.0.0.0 reaches the local host)', 'special'),
  rule('127.0.0.0/8', 'loopback', 'special'),
  rule('169.254.0.0/16', 'link-local, where cloud metadata endpoints such as 169.254.169.254 live', 'special'),
  rule('192.0.0.0/24', 'IETF protocol assignments', 'special'),
  rule('192.0.2.0/24', 'documentation (TEST-NET-1)', 'special'),
  rule('198.51.100.0/24', 'documentation (TEST-NET-2)', 'special'),
  rule('203.0.113.0/24', 'documentation (TEST-NET-3)', 'special'),
  rule('198.18.0.0/15', 'benchmarking', 'special'),
  rule('224.0.0.0/4', 'multicast', 'special'),
  rule('240.0.0.0/4', 'reserved, including the broadcast address 255.255.255.255', 'special'),
  rule('100.100.100.200/32', 'the Alibaba Cloud metadata endpoint', 'special'),
  rule('10.0.0.0/8', 'private network (RFC 1918)', 'internal'),
  rule('172.16.0.0/12', 'private network (RFC 1918)', 'internal'),
  rule('192.168.0.0/16', 'private network (RFC 1918)', 'internal'),
  rule('100.64.0.0/10', 'carrier-grade NAT shared space (RFC 6598)', 'internal'),
  rule('::/128', 'the unspecified address (reaches the local host)', 'special'),
  rule('::1/128', 'loopback', 'special'),
  rule('100::/64', 'discard-only (RFC 6666)', 'special'),
  rule('2001::/32', 'Teredo tunnelling (carries an obfuscated IPv4 address)', 'special'),
  rule('2001:db8::/32', 'documentation', 'special'),
  rule('fe80::/10', 'link-local', 'special'),
  rule('ff00::/8', 'multicast', 'special'),
  rule('fd00:ec2::254/128', 'the AWS instance metadata endpoint (IPv6)', 'special'),
  rule('fc00::/7', 'unique local addresses (private IPv6)', 'internal'),
  rule('fec0::/10', 'site-local (deprecated private IPv6)', 'internal'),
  rule('64:ff9b:1::/48', 'local-use NAT64', 'internal'),
];

const HOST_LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST_PATTERN = new RegExp(`^(\\*\\.)?${HOST_LABEL}(\\.${HOST_LABEL})*$`);

export type AllowEntry = { kind: 'cidr'; cidr: Cidr } | { kind: 'host'; pattern: string };

/** An allow entry: an address, a CIDR, a host name or *.domain. Throws a readable Error. */
export function parseAllowEntry(text: string): AllowEntry {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('an empty entry');
  // Address-like (digits, dots, hex and colons, an optional /prefix): parsed as an address or CIDR, strictly.
  if (/^[0-9a-fA-F.:]+(\/.*)?$/.test(trimmed) && /[.:]/.test(trimmed) && !/[g-zG-Z]/.test(trimmed)) {
    if (/^[\d./]+$/.test(trimmed) || trimmed.includes(':')) return { kind: 'cidr', cidr: parseCidr(trimmed) };
  }
  const host = trimmed.toLowerCase().replace(/\.$/, '');
  if (host.length > 253 || !HOST_PATTERN.test(host)) {
    throw new Error(`"${text}" is neither an IP address, a CIDR, a host name nor *.domain (no scheme, no port)`);
  }
  return { kind: 'host', pattern: host };
}

export class EgressConfigError extends Error {
  override readonly name = 'EgressConfigError';
}

/** Builds the cluster-wide policy from the platform team's settings; every bad entry is listed in one error. */
export function buildEgressPolicy(settings: EgressSettings = {}): EgressPolicy {
  const problems: string[] = [];
  const cidrs = (key: 'serviceCidrs' | 'podCidrs' | 'deny'): Cidr[] =>
    (settings[key] ?? []).flatMap((text) => {
      try {
        return [parseCidr(text)];
      } catch (error) {
        problems.push(`${EGRESS_FLAGS[key]}: ${(error as Error).message}`);
        return [];
      }
    });
  const deny: DenyRule[] = [
    ...DEFAULT_DENY_RULES,
    ...cidrs('serviceCidrs').map((cidr) => ({
      cidr,
      label: "the cluster's service range",
      category: 'internal' as const,
      source: EGRESS_FLAGS.serviceCidrs,
    })),
    ...cidrs('podCidrs').map((cidr) => ({
      cidr,
      label: "the cluster's pod range",
      category: 'internal' as const,
      source: EGRESS_FLAGS.podCidrs,
    })),
    ...cidrs('deny').map((cidr) => ({
      cidr,
      label: 'a range the platform team denies',
      category: 'internal' as const,
      source: EGRESS_FLAGS.deny,
    })),
  ];
  const policy = addAllowEntries({ deny, allowCidrs: [], allowHosts: [] }, settings.allow ?? [], EGRESS_FLAGS.allow);
  problems.push(...policy.problems);
  if (problems.length) throw new EgressConfigError(problems.join('; '));
  return policy.policy;
}

function addAllowEntries(
  policy: EgressPolicy,
  entries: readonly string[],
  source: string,
): { policy: EgressPolicy; problems: string[] } {
  const problems: string[] = [];
  const allowCidrs = [...policy.allowCidrs];
  const allowHosts = [...policy.allowHosts];
  for (const text of entries) {
    try {
      const entry = parseAllowEntry(text);
      if (entry.kind === 'cidr') allowCidrs.push({ cidr: entry.cidr, source });
      else allowHosts.push({ pattern: entry.pattern, source });
    } catch (error) {
      problems.push(`${source}: ${(error as Error).message}`);
    }
  }
  return { policy: { ...policy, allowCidrs, allowHosts }, problems };
}

/** The default policy: the built-in deny rules, nothing allowed, no cluster ranges known. */
export const DEFAULT_EGRESS_POLICY: EgressPolicy = buildEgressPolicy();

/**
 * The policy of one ClusterCredentialsProvider: the cluster-wide policy plus its own spec.egress.allow (only the
 * platform team creates cluster-scoped objects). Namespaced CredentialsProviders get the cluster-wide policy as is.
 */
export function withProviderAllow(policy: EgressPolicy, entries: readonly string[], field: string): EgressPolicy {
  const extended = addAllowEntries(policy, entries, field);
  if (extended.problems.length) throw new EgressConfigError(extended.problems.join('; '));
  return { ...extended.policy, providerAllowField: field };
}

/** The part of a provider object the egress policy reads (structural, so transport code needs no API import). */
export interface EgressScopedProvider {
  kind: string;
  metadata: { name: string };
  /** Read for spec.egress.allow (only on the cluster-scoped kind). */
  spec: object;
}

/**
 * The policy a provider object gets: a namespaced CredentialsProvider (created by tenants) the cluster-wide policy;
 * a ClusterCredentialsProvider (created by the platform team) that policy plus its own spec.egress.allow.
 */
export function egressPolicyFor(cluster: EgressPolicy, provider: EgressScopedProvider): EgressPolicy {
  if (provider.kind !== 'ClusterCredentialsProvider') return cluster;
  const field = `spec.egress.allow of ClusterCredentialsProvider ${provider.metadata.name}`;
  const allow = (provider.spec as { egress?: { allow?: readonly string[] } }).egress?.allow ?? [];
  return withProviderAllow(cluster, allow, field);
}

// ---------------------------------------------------------------------------------------------------------------
// The decision

export interface EgressTarget {
  /** The address about to be connected to. */
  address: string;
  /** The host name it was resolved from; absent when spec.url holds a literal address. */
  host?: string | undefined;
}

export type EgressDecision =
  | { allowed: true; reason: string }
  | {
      allowed: false;
      reason: string;
      /** The rule that denies; undefined when the address is not an IP address at all. */
      rule?: DenyRule;
      /** The IPv4 address an embedding IPv6 form stands for. */
      embedded?: EmbeddedIPv4;
    };

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

const normalizeHost = (host: string) => host.toLowerCase().replace(/\.$/, '');

const bySpecificity = <T extends { cidr: Cidr }>(a: T, b: T) => b.cidr.prefix - a.cidr.prefix;

/** Whether a provider may connect to an address. Pure: no DNS, no sockets. */
export function decideEgress(target: EgressTarget, policy: EgressPolicy): EgressDecision {
  const parsed = parseAddress(target.address);
  if (!parsed) return { allowed: false, reason: `"${target.address}" is not an IP address` };
  const embedded = embeddedIPv4(parsed);
  const effective: ParsedAddress = embedded ? { family: 4, value: embedded.value } : parsed;

  // Equal prefixes: a rule the platform team set names the range better than a built-in one (10.0.0.0/8 as the
  // pod range rather than as "private").
  const denies = policy.deny
    .filter((r) => cidrContains(r.cidr, effective))
    .sort((a, b) => bySpecificity(a, b) || Number(a.source === 'default') - Number(b.source === 'default'));
  const deny = denies[0];
  if (!deny) return { allowed: true, reason: 'not in a denied range' };

  const allow = policy.allowCidrs.filter((r) => cidrContains(r.cidr, effective)).sort(bySpecificity)[0];
  if (allow && allow.cidr.prefix >= deny.cidr.prefix) {
    return { allowed: true, reason: `allowed by ${allow.source} entry ${allow.cidr.text}` };
  }
  const host = target.host === undefined ? undefined : normalizeHost(target.host);
  if (host !== undefined && denies.every((r) => r.category === 'internal')) {
    const byHost = policy.allowHosts.find((h) => hostMatches(h.pattern, host));
    if (byHost) return { allowed: true, reason: `allowed by ${byHost.source} entry ${byHost.pattern}` };
  }
  return {
    allowed: false,
    reason: `in ${deny.cidr.text} (${deny.label})`,
    rule: deny,
    ...(embedded ? { embedded } : {}),
  };
}

/**
 * The message of a refusal: which address, which rule, and what the platform team can set to allow it. Never
 * suggests opening more than the one address (a /32 or /128) or the one host name.
 */
export function describeDenial(target: EgressTarget, decision: EgressDecision, policy: EgressPolicy): string {
  if (decision.allowed) return `egress to ${target.address} is allowed (${decision.reason})`;
  const where =
    target.host !== undefined && target.host !== target.address
      ? `${target.host} resolved to ${target.address}`
      : `${target.address} (the address in spec.url)`;
  const { rule, embedded } = decision;
  if (!rule) return `egress denied: ${where}: ${decision.reason}`;
  const carried = embedded ? `, the ${embedded.form} form of ${formatAddress(4, embedded.value)},` : '';
  const from = rule.source === 'default' ? 'denied by default' : `denied by ${rule.source}`;
  const single = embedded
    ? `${formatAddress(4, embedded.value)}/32`
    : `${formatAddress(rule.cidr.family, parseAddress(target.address)!.value)}/${bitsOf(rule.cidr.family)}`;
  const byName = target.host !== undefined && target.host !== target.address && rule.category === 'internal';
  const entries = byName ? `"${normalizeHost(target.host!)}" or "${single}"` : `"${single}"`;
  const where2 = `the controller flag ${EGRESS_FLAGS.allow} (Helm value ${EGRESS_VALUES.allow})${
    policy.providerAllowField ? ` or ${policy.providerAllowField}` : ''
  }`;
  const nameNote =
    rule.category === 'special' && target.host !== undefined && target.host !== target.address
      ? ` (a host name entry never opens this range; only an address entry does)`
      : '';
  return `egress denied: ${where}${carried} is in ${rule.cidr.text}, ${rule.label}, ${from}. To allow it, a platform administrator adds ${entries} to ${where2}${nameNote}`;
}
