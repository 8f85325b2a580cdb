import { describe, expect, it } from '@jest/globals';
import { LOOPBACK, TrustedPeers } from './trusted-peers.js';

const from = (remoteAddress: string | undefined) => ({ socket: { remoteAddress } });

describe('trusted gateways (the TCP peer address)', () => {
  it('the default trusts loopback only, IPv4, IPv6 and IPv4-mapped IPv6', () => {
    const peers = new TrustedPeers(LOOPBACK);
    expect(peers.trusts(from('127.0.0.1'))).toBe(true);
    expect(peers.trusts(from('127.9.9.9'))).toBe(true);
    expect(peers.trusts(from('::1'))).toBe(true);
    expect(peers.trusts(from('::ffff:127.0.0.1'))).toBe(true);
    expect(peers.trusts(from('10.0.0.1'))).toBe(false);
    expect(peers.trusts(from('::ffff:10.0.0.1'))).toBe(false);
    expect(peers.trusts(from(undefined))).toBe(false);
  });

  it('CIDR blocks and single addresses, IPv4 and IPv6; Fastify requests are read through `raw`', () => {
    const peers = new TrustedPeers(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
    expect(peers.trusts({ raw: from('10.200.1.1') })).toBe(true);
    expect(peers.trusts(from('fd12::1'))).toBe(true);
    expect(peers.trusts(from('192.0.2.7'))).toBe(true);
    expect(peers.trusts(from('192.0.2.8'))).toBe(false);
    expect(peers.trusts(from('127.0.0.1'))).toBe(false);
  });

  it.each([['localhost'], ['10.0.0.0/33'], ['::1/129'], ['10.0.0.0/8/8'], ['10.0.0.0/x'], ['']])('%s is refused at start-up', (entry) => {
    expect(() => new TrustedPeers([entry])).toThrow('not an IP address or a CIDR block');
  });
});
