// What kind of address an IP is, for the SSRF guard: only 'public' may be
// fetched. Hand-written prefix tables rather than node:net BlockList because
// we need the *kind* (for clear error messages) and must look inside IPv6
// forms that embed an IPv4 address (mapped, NAT64, 6to4), which BlockList
// does not do consistently across Node versions.
import { isIP } from 'node:net';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

type Range = readonly [prefix: string, bits: number, kind: AddressClass];

// Most specific first: the first match wins.
const V4_RANGES: readonly Range[] = [
  // Cloud instance metadata and the like: reachable from inside a VM only,
  // and full of credentials. Azure's wireserver is a public address, hence
  // the explicit entry.
  ['169.254.169.254', 32, 'metadata'],
  ['169.254.170.2', 32, 'metadata'], // AWS ECS task metadata
  ['100.100.100.200', 32, 'metadata'], // Alibaba Cloud
  ['168.63.129.16', 32, 'metadata'], // Azure wireserver
  ['0.0.0.0', 8, 'unspecified'], // "this network": 0.0.0.0 connects to localhost
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // TEST-NET-1
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // TEST-NET-2
  ['203.0.113.0', 24, 'reserved'], // TEST-NET-3
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255 broadcast
];

const V6_RANGES: readonly Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fd00:ec2::254', 128, 'metadata'], // AWS metadata over IPv6
  ['::', 96, 'reserved'], // deprecated IPv4-compatible addresses
  ['::ffff:0:0:0', 96, 'reserved'], // SIIT translated
  ['64:ff9b:1::', 48, 'private'], // local-use NAT64
  ['100::', 64, 'reserved'], // discard-only
  ['2001:db8::', 32, 'reserved'], // documentation
  ['2001::', 23, 'reserved'], // IETF protocol assignments, incl. Teredo
  ['3fff::', 20, 'reserved'], // documentation
  ['5f00::', 16, 'reserved'], // SRv6 SIDs
  ['fc00::', 7, 'private'], // unique local
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // deprecated site-local
  ['ff00::', 8, 'multicast'],
  ['2000::', 3, 'public'], // global unicast; everything else is unassigned
];

function v4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function v6ToBigInt(ip: string): bigint {
  let s = ip;
  // A dotted IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToInt(tail);
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? [] : new Array<string>(8 - headGroups.length - restGroups.length).fill('0');
  let value = 0n;
  for (const group of [...headGroups, ...fill, ...restGroups]) value = (value << 16n) | BigInt(parseInt(group, 16));
  return value;
}

const V4_TABLE = V4_RANGES.map(([prefix, bits, kind]) => ({ base: v4ToInt(prefix), bits, kind }));
const V6_TABLE = V6_RANGES.map(([prefix, bits, kind]) => ({ base: v6ToBigInt(prefix), bits: BigInt(bits), kind }));

function classifyV4(n: number): AddressClass {
  for (const { base, bits, kind } of V4_TABLE) {
    if (bits === 0 || n >>> (32 - bits) === base >>> (32 - bits)) return kind;
  }
  return 'public';
}

function classifyV6(v: bigint): AddressClass {
  const embedded = (shift: bigint) => Number((v >> shift) & 0xffffffffn);
  // Forms that carry an IPv4 address are as dangerous as that address:
  // IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::).
  if (v >> 32n === 0xffffn) return classifyV4(embedded(0n));
  if (v >> 32n === v6ToBigInt('64:ff9b::') >> 32n) return classifyV4(embedded(0n));
  if (v >> 112n === 0x2002n) return classifyV4(embedded(80n));
  for (const { base, bits, kind } of V6_TABLE) {
    if (v >> (128n - bits) === base >> (128n - bits)) return kind;
  }
  return 'reserved';
}

/**
 * Classifies an IPv4 or IPv6 address (an IPv6 zone id such as `%eth0` is
 * ignored). Anything that is not an IP address counts as 'reserved', so a
 * caller that checks `=== 'public'` fails closed.
 */
export function classifyAddress(ip: string): AddressClass {
  let address = ip.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  const family = isIP(address);
  if (family === 4) return classifyV4(v4ToInt(address));
  if (family === 6) return classifyV6(v6ToBigInt(address.toLowerCase()));
  return 'reserved';
}
