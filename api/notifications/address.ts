import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go. Link-local, metadata, "this network", multicast and broadcast
 * addresses are refused by default: a webhook URL is chosen by an admin, but a server
 * that can be made to call 169.254.169.254 hands out its cloud credentials. Loopback
 * and private networks stay allowed, since receivers on the operator's own network are
 * the common case. `WEBHOOK_DENY` adds ranges; `WEBHOOK_ALLOW` lets ranges through that
 * would be refused (it wins over both lists).
 */
const DEFAULT_DENY: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['100.100.100.200', 32, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

export class AddressPolicy {
  private readonly deny = new BlockList();
  private readonly allow = new BlockList();

  constructor(opts: { allow?: string[]; deny?: string[] } = {}) {
    for (const [net, prefix, type] of DEFAULT_DENY) this.deny.addSubnet(net, prefix, type);
    for (const cidr of opts.deny ?? []) addCidr(this.deny, cidr);
    for (const cidr of opts.allow ?? []) addCidr(this.allow, cidr);
  }

  /**
   * Why an address may not be called, or undefined when it may. An IPv6 address that
   * carries an IPv4 one (see `embeddedIpv4`) is judged as both: a rule on either form
   * decides, the allow list first, so `WEBHOOK_ALLOW=169.254.169.254` lets its NAT64
   * form through too, and `WEBHOOK_DENY=64:ff9b::/96` refuses all of NAT64.
   */
  refusal(address: string): string | undefined {
    const type: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const v4 = type === 'ipv6' ? embeddedIpv4(address) : undefined;
    const hit = (list: BlockList) => (v4 !== undefined && list.check(v4, 'ipv4') ? v4 : list.check(address, type) ? address : undefined);
    if (hit(this.allow)) return undefined;
    const denied = hit(this.deny);
    if (denied) return `${address} is in a range webhooks may not reach (link-local, metadata or reserved${denied === address ? '' : `: it carries ${denied}`}; WEBHOOK_ALLOW can let it through)`;
    return undefined;
  }
}

/**
 * IPv6 prefixes whose addresses carry an IPv4 address, and the byte it starts at. On a
 * network with a NAT64 gateway, or a 6to4 relay, a connection to such an address reaches
 * the IPv4 one, so 64:ff9b::a9fe:a9fe is 169.254.169.254 by another name.
 * - ::ffff:0:0/96, IPv4-mapped: the socket connects over IPv4.
 * - ::ffff:0:0:0/96, IPv4-translated (SIIT).
 * - ::/96, IPv4-compatible (deprecated), but for :: and ::1, which are themselves.
 * - 64:ff9b::/96, NAT64's well-known prefix, and 64:ff9b:1::/48, its local-use one
 *   (RFC 8215). A local prefix may be shorter than /96 and put the IPv4 address higher
 *   up (RFC 6052), which the address alone does not tell; the /96 layout, by far the
 *   usual one, is the one read here. `WEBHOOK_DENY=64:ff9b:1::/48` refuses the lot.
 * - 2002::/16, 6to4: bits 16 to 48 are the IPv4 address the packets are tunnelled to.
 */
const EMBEDDING: { prefix: number[]; at: number; compatible?: true }[] = [
  { prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], at: 12 },
  { prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], at: 12 },
  { prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], at: 12, compatible: true },
  { prefix: [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], at: 12 },
  { prefix: [0, 0x64, 0xff, 0x9b, 0, 1], at: 12 },
  { prefix: [0x20, 0x02], at: 2 },
];

/** The IPv4 address an IPv6 address carries, dotted, or undefined when it carries none. */
export function embeddedIpv4(address: string): string | undefined {
  const bytes = ipv6Bytes(address);
  const form = bytes && EMBEDDING.find((e) => e.prefix.every((b, i) => bytes[i] === b));
  if (!bytes || !form) return undefined;
  const v4 = bytes.slice(form.at, form.at + 4).join('.');
  // :: and ::1 are the unspecified address and loopback, not IPv4 addresses.
  if (form.compatible && (v4 === '0.0.0.0' || v4 === '0.0.0.1')) return undefined;
  return v4;
}

/** The 16 bytes of an IPv6 address as `isIP` accepts it (a zone is dropped), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.split('%')[0];
  // A dotted tail (::ffff:1.2.3.4) is the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  if (all.length !== 8) return undefined;
  return all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** Parses "10.0.0.0/8" or a bare address; throws with a message naming the bad entry. */
export function addCidr(list: BlockList, cidr: string): void {
  const [net, bits] = cidr.trim().split('/');
  const v = isIP(net);
  if (v === 0) throw new Error(`"${cidr}" is not an address or a CIDR range`);
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`"${cidr}" has a bad prefix length`);
  list.addSubnet(net, prefix, v === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The problem with a webhook URL as written, or undefined: http or https only, no
 * credentials, no fragment, and a literal address must pass the policy. Host names are
 * checked again, on every attempt, against the addresses they resolve to.
 */
export function urlProblem(raw: string, policy: AddressPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not carry credentials (user:password@); the signature authenticates each request';
  if (url.hash) return 'must not have a #fragment';
  if (!url.hostname) return 'must name a host';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return policy.refusal(host);
  return undefined;
}
