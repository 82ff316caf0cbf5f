// IPv4 and IPv6 addresses and CIDRs as numbers, for the egress policy (egress-policy.ts): parsing, formatting,
// containment, and the IPv4 address an IPv6 form may carry. Pure functions; nothing here connects anywhere.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface Cidr {
  family: IpFamily;
  /** Network address (host bits cleared). */
  base: bigint;
  prefix: number;
  /** Canonical text, e.g. 10.96.0.0/12 or fd00::/8. */
  text: string;
}

const V4_BITS = 32;
const V6_BITS = 128;
export const bitsOf = (family: IpFamily) => (family === 4 ? V4_BITS : V6_BITS);

export interface ParsedAddress {
  family: IpFamily;
  value: bigint;
}

/** Parses an IPv4 or IPv6 address (an IPv6 zone such as %eth0 is ignored); undefined when it is neither. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const withoutZone = bare.includes('%') ? bare.slice(0, bare.indexOf('%')) : bare;
  if (isIPv4(withoutZone)) return { family: 4, value: parseIPv4(withoutZone) };
  if (isIPv6(withoutZone)) return { family: 6, value: parseIPv6(withoutZone) };
  return undefined;
}

function parseIPv4(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number.parseInt(part, 10)), 0n);
}

/** Expects text that net.isIPv6 accepted: hex groups, at most one "::", optionally a dotted IPv4 tail. */
function parseIPv6(text: string): bigint {
  let groups: string[];
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let head = text;
  const tailGroups: string[] = [];
  if (tail) {
    const v4 = parseIPv4(tail[1]!);
    tailGroups.push(((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16));
    head = text.slice(0, -tail[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  if (head.includes('::')) {
    const [left, right] = head.split('::') as [string, string];
    const l = left ? left.split(':') : [];
    const r = [...(right ? right.split(':') : []), ...tailGroups];
    groups = [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  } else {
    groups = [...head.split(':').filter((g) => g !== ''), ...tailGroups];
  }
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

export function formatAddress(family: IpFamily, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

const maskOf = (family: IpFamily, prefix: number): bigint => {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : (all << (bits - BigInt(prefix))) & all;
};

function makeCidr(family: IpFamily, value: bigint, prefix: number): Cidr {
  const base = value & maskOf(family, prefix);
  return { family, base, prefix, text: `${formatAddress(family, base)}/${prefix}` };
}

/** "10.0.0.0/8", "fd00::/8", or a single address ("127.0.0.1" = /32, "::1" = /128). Throws a readable Error. */
export function parseCidr(text: string): Cidr {
  const cidr = parseLiteralCidr(text);
  // An IPv6 CIDR inside ::ffff:0:0/96 is an IPv4 CIDR written the long way: store it as IPv4, where it is matched.
  if (cidr.family === 6 && cidr.prefix >= 96 && cidr.base >> 32n === 0xffffn) {
    return makeCidr(4, cidr.base & 0xffffffffn, cidr.prefix - 96);
  }
  return cidr;
}

/** A CIDR exactly as written, IPv6 forms that carry IPv4 included. */
function parseLiteralCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const address = parseAddress(addressText);
  if (!address || addressText.includes('%')) throw new Error(`"${text}" is not an IP address or CIDR`);
  const bits = bitsOf(address.family);
  let prefix = bits;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      throw new Error(`"${text}": the prefix length must be 0-${bits}`);
    }
    prefix = Number(prefixText);
  }
  return makeCidr(address.family, address.value, prefix);
}

export function cidrContains(cidr: Cidr, address: ParsedAddress): boolean {
  return cidr.family === address.family && (address.value & maskOf(cidr.family, cidr.prefix)) === cidr.base;
}

// ---------------------------------------------------------------------------------------------------------------
// IPv6 forms that carry an IPv4 address

export interface EmbeddedIPv4 {
  value: bigint;
  /** How the IPv6 address carries it, for messages. */
  form: string;
}

const V6_EMBEDDING: ReadonlyArray<{ cidr: Cidr; form: string; extract: (v6: bigint) => bigint }> = [
  { cidr: parseLiteralCidr('::ffff:0:0/96'), form: 'IPv4-mapped', extract: (v) => v & 0xffffffffn },
  { cidr: parseLiteralCidr('::ffff:0:0:0/96'), form: 'IPv4-translated', extract: (v) => v & 0xffffffffn },
  { cidr: parseLiteralCidr('64:ff9b::/96'), form: 'NAT64', extract: (v) => v & 0xffffffffn },
  { cidr: parseLiteralCidr('2002::/16'), form: '6to4', extract: (v) => (v >> 80n) & 0xffffffffn },
  // Deprecated IPv4-compatible ::a.b.c.d; :: and ::1 are themselves (unspecified, loopback).
  { cidr: parseLiteralCidr('::/96'), form: 'IPv4-compatible', extract: (v) => v & 0xffffffffn },
];

/** The IPv4 address an IPv6 address stands for, if it is one of the embedding forms. */
export function embeddedIPv4(address: ParsedAddress): EmbeddedIPv4 | undefined {
  if (address.family !== 6 || address.value <= 1n) return undefined;
  for (const embedding of V6_EMBEDDING) {
    if (cidrContains(embedding.cidr, address)) return { value: embedding.extract(address.value), form: embedding.form };
  }
  return undefined;
}
