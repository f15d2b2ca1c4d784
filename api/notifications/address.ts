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

  /** Why an address may not be called, or undefined when it may. */
  refusal(address: string): string | undefined {
    const type: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    // An IPv4 address written as IPv6 (::ffff:169.254.169.254) is judged as the IPv4 one.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const [addr, kind] = mapped ? [mapped, 'ipv4' as const] : [address, type];
    if (this.allow.check(addr, kind)) return undefined;
    if (this.deny.check(addr, kind)) return `${address} is in a range webhooks may not reach (link-local, metadata or reserved; WEBHOOK_ALLOW can let it through)`;
    return undefined;
  }
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
