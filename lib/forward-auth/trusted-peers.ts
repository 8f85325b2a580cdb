import { BlockList, isIP } from 'node:net';

/** The default gateways: this host only. */
export const LOOPBACK = ['127.0.0.1/8', '::1'];

/**
 * The gateways allowed to ask for decisions, from `trustedProxies` (addresses and CIDR blocks, IPv4 and IPv6).
 * Throws a message naming the entry that is not one.
 */
export class TrustedPeers {
  private readonly list = new BlockList();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits, extra] = typeof entry === 'string' ? entry.trim().split('/') : [];
      const type = address ? isIP(address) : 0;
      const prefix = bits === undefined ? undefined : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (type === 0 || extra !== undefined || (prefix !== undefined && !(prefix <= (type === 4 ? 32 : 128)))) {
        throw new Error(`'${String(entry)}' is not an IP address or a CIDR block (e.g. '10.0.0.0/8', 'fd00::/8').`);
      }
      const family = type === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, prefix, family);
    }
  }

  /** Whether the TCP peer of this request is a trusted gateway (IPv4-mapped IPv6 addresses count as IPv4). */
  trusts(request: any): boolean {
    const address: unknown = (request?.raw ?? request)?.socket?.remoteAddress;
    if (typeof address !== 'string') return false;
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
    const ip = mapped ? mapped[1] : address;
    const type = isIP(ip);
    return type !== 0 && this.list.check(ip, type === 4 ? 'ipv4' : 'ipv6');
  }
}
