/**
 * The fair-queue key of a caller (`introspect(token, { caller })`): its address. IPv6 callers share a key per /64
 * (one subscriber's prefix): a prefix's worth of addresses is one caller.
 */
export function fairnessKey(ip: string): string {
  if (!ip.includes(':') || ip.startsWith('::ffff:')) return ip;
  const [head, tail] = ip.split('%')[0].split('::');
  const first = head ? head.split(':') : [];
  const last = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? first : [...first, ...Array(Math.max(0, 8 - first.length - last.length)).fill('0'), ...last];
  return `${groups
    .slice(0, 4)
    .map((g: string) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * The fair-queue key of a connection or a message from its network socket's peer address (`net.Socket`
 * `remoteAddress`), or undefined. Forwarding headers are not read: behind a reverse proxy every connection shares the
 * proxy's key, as HTTP requests do without a trust-proxy setting.
 */
export function socketFairnessKey(socket: unknown): string | undefined {
  const address = (socket as { remoteAddress?: unknown } | null | undefined)?.remoteAddress;
  return typeof address === 'string' && address.length > 0 ? fairnessKey(address) : undefined;
}
